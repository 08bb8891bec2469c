using System.Globalization;
using System.Text.RegularExpressions;

namespace ManagedVmm.Cli.Bench;

/// <summary>
/// What one configuration measured. Virtual-time figures come from nvme-fio's result line; wall clock, retired
/// instructions and MIPS from the run. <see cref="Error"/> is set when the run failed (the figures are then 0).
/// </summary>
public sealed record BenchResult(
    BenchConfiguration Configuration,
    long Ios,
    double Iops,
    double BandwidthMiBs,
    double LatencyMeanUs,
    double LatencyP50Us,
    double LatencyP99Us,
    double LatencyMaxUs,
    long Maps,
    long Unmaps,
    long Kicks,
    long VirtualTimeNs,
    long Instructions,
    double WallSeconds,
    string? Error = null)
{
    public double MapsPerIo => Ios == 0 ? 0 : (double)Maps / Ios;

    public double UnmapsPerIo => Ios == 0 ? 0 : (double)Unmaps / Ios;

    public double KicksPerIo => Ios == 0 ? 0 : (double)Kicks / Ios;

    public double Mips => WallSeconds <= 0 ? 0 : Instructions / WallSeconds / 1e6;

    public static BenchResult Failed(BenchConfiguration c, string error, double wallSeconds = 0) =>
        new(c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, wallSeconds, error);
}

/// <summary>
/// Parses nvme-fio's serial output (guest-images/nvme-fio): the lines
/// <c>fio: &lt;rw&gt; bs=N iodepth=N: N I/Os in N us (virtual)</c>, <c>fio: IOPS N, bandwidth N KiB/s</c>,
/// <c>fio: latency ns: mean N p50 N p99 N max N (N samples)</c> and
/// <c>viommu: requests MAP N UNMAP N … kicks N …</c> (absent, or <c>iommu: none</c>, without an IOMMU). Keys produced:
/// <c>ios time_ns iops bw_mibs lat_mean_us lat_p50_us lat_p99_us lat_max_us maps unmaps kicks</c>. A missing I/O or
/// IOPS line is an error; other missing lines read 0. The last occurrence of each line counts.
/// </summary>
public static partial class FioResultParser
{
    public static bool TryParse(string serial, out Dictionary<string, double> values, out string? error)
    {
        values = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);
        foreach (string raw in serial.Split('\n'))
        {
            string line = raw.Trim();
            if (Summary().Match(line) is { Success: true } m)
            {
                values["ios"] = D(m, 1);
                values["time_ns"] = D(m, 2) * 1000;
            }
            else if (Throughput().Match(line) is { Success: true } t)
            {
                values["iops"] = D(t, 1);
                values["bw_mibs"] = D(t, 2) / 1024;
            }
            else if (Latency().Match(line) is { Success: true } l)
            {
                values["lat_mean_us"] = D(l, 1) / 1000;
                values["lat_p50_us"] = D(l, 2) / 1000;
                values["lat_p99_us"] = D(l, 3) / 1000;
                values["lat_max_us"] = D(l, 4) / 1000;
            }
            else if (Viommu().Match(line) is { Success: true } v)
            {
                values["maps"] = D(v, 1);
                values["unmaps"] = D(v, 2);
                values["kicks"] = D(v, 3);
            }
        }

        error = values.ContainsKey("ios") && values.ContainsKey("iops") ? null : "no 'fio: … I/Os in … us' and 'fio: IOPS …' lines in the guest output";
        return error == null;
    }

    public static BenchResult ToResult(BenchConfiguration c, IReadOnlyDictionary<string, double> v, long instructions, double wallSeconds)
    {
        double Get(string k) => v.TryGetValue(k, out double x) ? x : 0;
        return new BenchResult(c, (long)Get("ios"), Get("iops"), Get("bw_mibs"), Get("lat_mean_us"), Get("lat_p50_us"),
            Get("lat_p99_us"), Get("lat_max_us"), (long)Get("maps"), (long)Get("unmaps"), (long)Get("kicks"), (long)Get("time_ns"),
            instructions, wallSeconds);
    }

    private static double D(Match m, int group) => double.Parse(m.Groups[group].Value, NumberStyles.Float, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^fio: \S+ bs=\d+ iodepth=\d+: (\d+) I/Os in (\d+) us \(virtual\)")]
    private static partial Regex Summary();

    [GeneratedRegex(@"^fio: IOPS (\d+), bandwidth (\d+) KiB/s")]
    private static partial Regex Throughput();

    [GeneratedRegex(@"^fio: latency ns: mean (\d+) p50 (\d+) p99 (\d+) max (\d+)")]
    private static partial Regex Latency();

    [GeneratedRegex(@"^viommu: requests MAP (\d+) UNMAP (\d+) .*\bkicks (\d+)")]
    private static partial Regex Viommu();
}
