using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace ManagedVmm.Cli.Bench;

/// <summary>The results as a text table, CSV and JSON; the ratio column is IOPS over the same workload's baseline variant.</summary>
public static class BenchReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>IOPS relative to <see cref="BenchMatrix.BaselineVariant"/> on the same workload, or null without one.</summary>
    public static double? RatioToStrict(BenchResult r, IReadOnlyList<BenchResult> all)
    {
        var baseline = all.FirstOrDefault(b => b.Configuration.Workload.Name == r.Configuration.Workload.Name
            && b.Configuration.Variant.Name == BenchMatrix.BaselineVariant && b.Error == null);
        return baseline == null || baseline.Iops <= 0 || r.Error != null ? null : r.Iops / baseline.Iops;
    }

    public static string Table(IReadOnlyList<BenchResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"{"variant",-12} {"workload",-15} {"IOPS",10} {"MiB/s",8} {"mean us",8} {"p99 us",8} {"kick/io",7} {"map/io",6} {"unmap/io",8} {"x strict",8} {"wall s",6} {"MIPS",6}");
        foreach (var r in results)
        {
            if (r.Error != null)
            {
                sb.AppendLine(Inv, $"{r.Configuration.Variant.Name,-12} {r.Configuration.Workload.Name,-15} FAILED: {r.Error}");
                continue;
            }

            string ratio = RatioToStrict(r, results) is double x ? x.ToString("0.000", Inv) : "-";
            sb.AppendLine(Inv, $"{r.Configuration.Variant.Name,-12} {r.Configuration.Workload.Name,-15} {r.Iops,10:0} {r.BandwidthMiBs,8:0.0} {r.LatencyMeanUs,8:0.0} {r.LatencyP99Us,8:0.0} {r.KicksPerIo,7:0.00} {r.MapsPerIo,6:0.00} {r.UnmapsPerIo,8:0.00} {ratio,8} {r.WallSeconds,6:0.0} {r.Mips,6:0}");
        }

        return sb.ToString();
    }

    public static string Csv(IReadOnlyList<BenchResult> results)
    {
        var sb = new StringBuilder("profile,variant,workload,ios,iops,bw_mibs,lat_mean_us,lat_p50_us,lat_p99_us,lat_max_us,maps_per_io,unmaps_per_io,kicks_per_io,ratio_to_strict,virtual_time_ns,instructions,wall_s,mips,error\n");
        foreach (var r in results)
        {
            var c = r.Configuration;
            string ratio = RatioToStrict(r, results) is double x ? F(x) : "";
            string error = r.Error == null ? "" : "\"" + r.Error.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
            sb.Append(Inv, $"{c.Profile.Name},{c.Variant.Name},{c.Workload.Name},{r.Ios},{F(r.Iops)},{F(r.BandwidthMiBs)},{F(r.LatencyMeanUs)},{F(r.LatencyP50Us)},{F(r.LatencyP99Us)},{F(r.LatencyMaxUs)},")
              .Append(Inv, $"{F(r.MapsPerIo)},{F(r.UnmapsPerIo)},{F(r.KicksPerIo)},{ratio},{r.VirtualTimeNs},{r.Instructions},{F(r.WallSeconds)},{F(r.Mips)},{error}\n");
        }

        return sb.ToString();
    }

    public static JsonObject Json(IReadOnlyList<BenchResult> results, CostProfile profile)
    {
        var rows = new JsonArray();
        foreach (var r in results)
        {
            var c = r.Configuration;
            rows.Add(new JsonObject
            {
                ["variant"] = c.Variant.Name,
                ["workload"] = c.Workload.Name,
                ["commandLine"] = c.CommandLine,
                ["ios"] = r.Ios,
                ["iops"] = r.Iops,
                ["bandwidthMiBs"] = r.BandwidthMiBs,
                ["latencyUs"] = new JsonObject { ["mean"] = r.LatencyMeanUs, ["p50"] = r.LatencyP50Us, ["p99"] = r.LatencyP99Us, ["max"] = r.LatencyMaxUs },
                ["perIo"] = new JsonObject { ["maps"] = r.MapsPerIo, ["unmaps"] = r.UnmapsPerIo, ["kicks"] = r.KicksPerIo },
                ["ratioToStrict"] = RatioToStrict(r, results),
                ["virtualTimeNs"] = r.VirtualTimeNs,
                ["instructions"] = r.Instructions,
                ["wallSeconds"] = r.WallSeconds,
                ["mips"] = r.Mips,
                ["error"] = r.Error,
            });
        }

        return new JsonObject
        {
            ["profile"] = System.Text.Json.JsonSerializer.SerializeToNode(profile),
            ["results"] = rows,
        };
    }

    private static string F(double v) => v.ToString("0.####", Inv);
}
