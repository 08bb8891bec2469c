using System.Globalization;

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
/// Parses nvme-fio's result: the last serial line starting <c>fio:</c>, a list of <c>key=value</c> pairs
/// (order free, unknown keys ignored): <c>ios iops bw_mibs lat_mean_us lat_p50_us lat_p99_us lat_max_us maps unmaps
/// kicks time_ns</c>. Missing <c>ios</c> or <c>iops</c> is an error; other missing keys read 0.
/// </summary>
public static class FioResultParser
{
    public const string Prefix = "fio:";

    public static bool TryParse(string serial, out Dictionary<string, double> values, out string? error)
    {
        values = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);
        string? line = serial.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith(Prefix, StringComparison.Ordinal));
        if (line == null)
        {
            error = $"no '{Prefix}' result line in the guest output";
            return false;
        }

        foreach (string token in line[Prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && double.TryParse(token[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            {
                values[token[..eq]] = v;
            }
        }

        error = values.ContainsKey("ios") && values.ContainsKey("iops") ? null : $"result line lacks ios= or iops=: '{line}'";
        return error == null;
    }

    public static BenchResult ToResult(BenchConfiguration c, IReadOnlyDictionary<string, double> v, long instructions, double wallSeconds)
    {
        double Get(string k) => v.TryGetValue(k, out double x) ? x : 0;
        return new BenchResult(c, (long)Get("ios"), Get("iops"), Get("bw_mibs"), Get("lat_mean_us"), Get("lat_p50_us"),
            Get("lat_p99_us"), Get("lat_max_us"), (long)Get("maps"), (long)Get("unmaps"), (long)Get("kicks"), (long)Get("time_ns"),
            instructions, wallSeconds);
    }
}
