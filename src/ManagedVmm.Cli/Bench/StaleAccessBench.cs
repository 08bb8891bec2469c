using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ManagedVmm.Core;
using ManagedVmm.Machine.Running;

namespace ManagedVmm.Cli.Bench;

/// <summary>What the use-after-unmap probes of one variant measured (nvme-fio's <c>stale:</c> line).</summary>
public sealed record StaleResult(
    BenchConfiguration Configuration,
    long Probes,
    long Accesses,
    long Succeeded,
    long OpenProbes,
    long Unclosed,
    long WindowMeanNs,
    long WindowMaxNs,
    double WallSeconds,
    string? Error = null);

/// <summary>
/// The security side of lazy mode (issue 7 item 4): nvme-fio with <c>fio.stale=N</c> under strict, lazy per-CPU
/// queue and lazy single queue. After a short workload each probe maps a buffer, reads into it, unmaps it, then the
/// NVMe keeps reading to the stale IOVA (8 accesses back to back, then idle until the next event) until one is
/// refused: the stale accesses that still reached memory, and the window in virtual time.
/// </summary>
public static partial class StaleAccessBench
{
    /// <summary>The variants compared: strict must show zero stale successes.</summary>
    public static readonly string[] VariantNames = ["strict", "lazy-percpu", "lazy-single"];

    /// <summary>The probe workload: a short QD1 read run, then the probes.</summary>
    public static BenchWorkload Workload(int probes) =>
        new("stale", $"{probes} use-after-unmap probes after 4 KiB random reads at QD1", $"fio.rw=randread fio.bs=4096 fio.iodepth=1 fio.stale={probes}");

    public static IReadOnlyList<BenchConfiguration> Configurations(CostProfile profile, int probes, int ios) =>
        [.. BenchMatrix.Variants.Where(v => VariantNames.Contains(v.Name)).Select(v => new BenchConfiguration(v, Workload(probes), profile, ios))];

    public static StaleResult Run(MachineConfigurationRunner runner, BenchConfiguration c)
    {
        var wall = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var (result, serial) = runner.RunGuest(c);
            double s = wall.Elapsed.TotalSeconds;
            if (result.Reason != VmStopReason.DebugExit || result.ExitStatus != 1)
            {
                return Failed(c, $"guest stopped: {result.Describe()} (status {result.ExitStatus})", s);
            }

            return TryParse(c, serial, s) ?? Failed(c, "no 'stale: probes …' line in the guest output", s);
        }
        catch (Exception e)
        {
            return Failed(c, e.Message.Split('\n')[0], wall.Elapsed.TotalSeconds);
        }
    }

    /// <summary>Parses <c>stale: probes N accesses N succeeded N open N unclosed N window_ns mean N max N</c> (the last one).</summary>
    public static StaleResult? TryParse(BenchConfiguration c, string serial, double wallSeconds)
    {
        StaleResult? found = null;
        foreach (string raw in serial.Split('\n'))
        {
            if (Line().Match(raw.Trim()) is { Success: true } m)
            {
                long L(int g) => long.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
                found = new StaleResult(c, L(1), L(2), L(3), L(4), L(5), L(6), L(7), wallSeconds);
            }
        }

        return found;
    }

    public static string Table(IReadOnlyList<StaleResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"variant",-12} {"probes",6} {"accesses",8} {"stale ok",8} {"open",5} {"window mean",14} {"window max",14}");
        foreach (var r in results)
        {
            sb.AppendLine(r.Error != null
                ? $"{r.Configuration.Variant.Name,-12} FAILED: {r.Error}"
                : string.Create(CultureInfo.InvariantCulture,
                    $"{r.Configuration.Variant.Name,-12} {r.Probes,6} {r.Accesses,8} {r.Succeeded,8} {r.OpenProbes,5} {r.WindowMeanNs / 1e6,11:0.000} ms {r.WindowMaxNs / 1e6,11:0.000} ms"));
        }

        return sb.ToString();
    }

    public static string Csv(IReadOnlyList<StaleResult> results)
    {
        var sb = new StringBuilder("variant,profile,probes,accesses,stale_succeeded,open_probes,unclosed_probes,window_mean_ns,window_max_ns,wall_s,error\n");
        foreach (var r in results)
        {
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Configuration.Variant.Name},{r.Configuration.Profile.Name},{r.Probes},{r.Accesses},{r.Succeeded},{r.OpenProbes},{r.Unclosed},{r.WindowMeanNs},{r.WindowMaxNs},{r.WallSeconds:0.00},{r.Error?.Replace(',', ';')}"));
        }

        return sb.ToString();
    }

    private static StaleResult Failed(BenchConfiguration c, string error, double wall) => new(c, 0, 0, 0, 0, 0, 0, 0, wall, error);

    [GeneratedRegex(@"^stale: probes (\d+) accesses (\d+) succeeded (\d+) open (\d+) unclosed (\d+) window_ns mean (\d+) max (\d+)")]
    private static partial Regex Line();
}
