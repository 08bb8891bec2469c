using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ManagedVmm.Cli.Bench;

namespace ManagedVmm.Cli.Commands;

/// <summary>
/// <c>managedvmm bench</c>: the flush-policy matrix (variants × workloads) of nvme-fio runs under a cost profile,
/// in parallel, with progress on stderr; prints the table and writes results.csv, results.json and chart.svg.
/// </summary>
internal static class BenchCommand
{
    /// <summary>Where the nvme-fio image is looked for when <c>--image</c> is not given.</summary>
    public const string DefaultImagePath = "guest-images/nvme-fio/nvme-fio.elf";

    public static Command Create(TextWriter output, TextWriter error, Func<string, IConfigurationRunner>? runnerFactory = null)
    {
        var variants = new Option<string[]>("--variant") { Description = $"Variants to run (repeatable; default all: {string.Join(", ", BenchMatrix.Variants.Select(v => v.Name))})", AllowMultipleArgumentsPerToken = true };
        var workloads = new Option<string[]>("--workload") { Description = $"Workloads to run (repeatable; default all: {string.Join(", ", BenchMatrix.Workloads.Select(w => w.Name))})", AllowMultipleArgumentsPerToken = true };
        var profile = new Option<string>("--profile") { Description = "Cost profile: seed, emulated-nvme, zero", DefaultValueFactory = _ => "seed" };
        var ios = new Option<int>("--ios") { Description = "I/Os per configuration", DefaultValueFactory = _ => 2000 };
        var outDir = new Option<string>("--output", "-o") { Description = "Output directory for results.csv, results.json, chart.svg", DefaultValueFactory = _ => "bench-results" };
        var jobs = new Option<int>("--jobs", "-j") { Description = "Configurations run in parallel (default: the number of cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var image = new Option<string>("--image") { Description = $"The nvme-fio guest image (default {DefaultImagePath})", DefaultValueFactory = _ => DefaultImagePath };
        var security = new Option<int>("--security") { Description = "Instead of the matrix: N use-after-unmap probes (1-64) under strict, lazy-percpu and lazy-single; writes stale.csv" };
        var command = new Command("bench", "Run the flush-policy matrix of nvme-fio under a cost profile and report virtual-time IOPS, latency and IOMMU traffic")
        {
            variants, workloads, profile, ios, outDir, jobs, image, security,
        };
        command.SetAction(parse =>
        {
            var costProfile = CostProfile.Find(parse.GetValue(profile)!);
            if (costProfile == null)
            {
                error.WriteLine($"managedvmm: unknown profile '{parse.GetValue(profile)}' (known: {string.Join(", ", CostProfile.All.Select(p => p.Name))})");
                return CliApplication.UsageError;
            }

            int count = parse.GetValue(ios);
            if (count < 1)
            {
                error.WriteLine("managedvmm: --ios must be at least 1");
                return CliApplication.UsageError;
            }

            int probes = parse.GetValue(security);
            if (probes != 0)
            {
                return RunSecurity(output, error, costProfile, probes, ResolveImage(parse.GetValue(image)!), parse.GetValue(outDir)!);
            }

            var configurations = BenchMatrix.Select(parse.GetValue(variants), parse.GetValue(workloads), costProfile, count, out var unknown);
            if (unknown.Count > 0 || configurations.Count == 0)
            {
                error.WriteLine($"managedvmm: unknown variant or workload: {string.Join(", ", unknown)}");
                return CliApplication.UsageError;
            }

            IConfigurationRunner runner;
            string imagePath = ResolveImage(parse.GetValue(image)!);
            if (runnerFactory != null)
            {
                runner = runnerFactory(imagePath);
            }
            else if (File.Exists(imagePath))
            {
                runner = new MachineConfigurationRunner(Path.GetFileName(imagePath), File.ReadAllBytes(imagePath));
            }
            else
            {
                error.WriteLine($"managedvmm: guest image '{imagePath}' not found (build it with make -C guest-images, or pass --image)");
                return CliApplication.UsageError;
            }

            var wall = Stopwatch.StartNew();
            var results = BenchExecutor.Run(configurations, runner, parse.GetValue(jobs), (done, total, r) =>
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{done}/{total}] {r.Configuration.Key}: {(r.Error ?? $"{r.Iops:0} IOPS")} ({r.WallSeconds:0.0} s, {r.Mips:0} MIPS)")));
            output.WriteLine($"profile {costProfile.Name}, {count} I/Os per configuration, {configurations.Count} configurations, {wall.Elapsed.TotalSeconds:0.0} s wall");
            output.Write(BenchReport.Table(results));

            string dir = parse.GetValue(outDir)!;
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "results.csv"), BenchReport.Csv(results));
            File.WriteAllText(Path.Combine(dir, "results.json"), BenchReport.Json(results, costProfile).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            File.WriteAllText(Path.Combine(dir, "chart.svg"), BenchChart.Svg(results));
            output.WriteLine($"wrote {Path.Combine(dir, "results.csv")}, results.json, chart.svg");
            return results.Any(r => r.Error != null) ? 1 : 0;
        });
        return command;
    }

    /// <summary><c>--security N</c>: the stale-access probes under strict, lazy-percpu and lazy-single, one after the other.</summary>
    private static int RunSecurity(TextWriter output, TextWriter error, CostProfile profile, int probes, string imagePath, string dir)
    {
        if (probes is < 1 or > 64)
        {
            error.WriteLine("managedvmm: --security takes 1 to 64 probes");
            return CliApplication.UsageError;
        }

        if (!File.Exists(imagePath))
        {
            error.WriteLine($"managedvmm: guest image '{imagePath}' not found (build it with make -C guest-images, or pass --image)");
            return CliApplication.UsageError;
        }

        var runner = new MachineConfigurationRunner(Path.GetFileName(imagePath), File.ReadAllBytes(imagePath));
        var results = new List<StaleResult>();
        foreach (var c in StaleAccessBench.Configurations(profile, probes, SecurityWarmupIos))
        {
            var r = StaleAccessBench.Run(runner, c);
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{results.Count + 1}/{StaleAccessBench.VariantNames.Length}] {c.Variant.Name}: {(r.Error ?? $"{r.Succeeded} stale accesses succeeded")} ({r.WallSeconds:0.0} s)"));
            results.Add(r);
        }

        output.WriteLine($"profile {profile.Name}, {probes} use-after-unmap probes per variant after {SecurityWarmupIos} reads");
        output.Write(StaleAccessBench.Table(results));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "stale.csv"), StaleAccessBench.Csv(results));
        output.WriteLine($"wrote {Path.Combine(dir, "stale.csv")}");
        return results.Any(r => r.Error != null) ? 1 : 0;
    }

    /// <summary>I/Os of the short read workload run before the probes (warms the IOVA caches as a real run would).</summary>
    private const int SecurityWarmupIos = 100;

    /// <summary>
    /// The image as given; for the default relative path, also looked up from the executable's directory upwards,
    /// so <c>dotnet run --project src/ManagedVmm.Cli -- bench</c> finds it from any working directory in the clone.
    /// </summary>
    private static string ResolveImage(string path)
    {
        if (File.Exists(path) || Path.IsPathRooted(path))
        {
            return path;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, path);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return path;
    }
}
