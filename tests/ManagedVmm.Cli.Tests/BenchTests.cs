using System.Text.Json.Nodes;
using ManagedVmm.Cli.Bench;
using ManagedVmm.Cli.Commands;

namespace ManagedVmm.Cli.Tests;

/// <summary>
/// The bench matrix, parser, report, chart and command with a fake configuration runner (nvme-fio is not on this
/// branch yet): deterministic figures derived from the configuration, so the report's logic is checked exactly.
/// </summary>
public sealed class BenchTests
{
    /// <summary>A deterministic stand-in for one VM run: figures are a function of the configuration alone.</summary>
    private sealed class FakeRunner : IConfigurationRunner
    {
        public int Runs;

        public BenchResult Run(BenchConfiguration c)
        {
            Interlocked.Increment(ref Runs);
            int v = BenchMatrix.Variants.ToList().FindIndex(x => x.Name == c.Variant.Name);
            double iops = 10_000 * (1 + (0.1 * v));
            string serial = $"boot\nfio: randread bs=4096 iodepth=32: {c.Ios} I/Os in {c.Ios * 100} us (virtual)\nfio: IOPS {iops}, bandwidth {iops * 4} KiB/s\n"
                + $"fio: latency ns: mean 50500 p50 48000 p99 90000 max 120000 ({c.Ios} samples)\n"
                + $"viommu: requests MAP {c.Ios * 2} UNMAP {c.Ios} ATTACH 1 DETACH 0 PROBE 1; syncs 5 kicks {c.Ios * 3} drains 0 errors 0 faults 0\nnvme-fio: PASS\n";
            Assert.That(FioResultParser.TryParse(serial, out var values, out _), Is.True);
            return FioResultParser.ToResult(c, values, instructions: 1_000_000, wallSeconds: 0.5);
        }
    }

    [Test]
    public void DefaultMatrix_IsFiveVariantsTimesFiveWorkloads_WithTheRightSwitches()
    {
        var all = BenchMatrix.Select(null, null, CostProfile.Seed, 100, out var unknown);
        Assert.That(unknown, Is.Empty);
        Assert.That(all, Has.Count.EqualTo(25));
        var seed = all.Single(c => c.Key == "lazy-single/randread-qd32");
        Assert.That(seed.CommandLine, Is.EqualTo("iommu.strict=0 viommu.sync_map=1 viommu.deferred_flush=1 iommu.fq=single fio.rw=randread fio.bs=4096 fio.iodepth=32 fio.ios=100"));
        Assert.That(all.Single(c => c.Key == "strict/randread-qd1").CommandLine, Does.StartWith("iommu.strict=1 viommu.sync_map=0 "));
        Assert.That(all.Where(c => c.Variant.Name == "passthrough").All(c => !c.Variant.HasIommu), Is.True);
    }

    [Test]
    public void Select_ReportsUnknownNames()
    {
        var some = BenchMatrix.Select(["strict", "nope"], ["randread-qd1"], CostProfile.Zero, 10, out var unknown);
        Assert.That(unknown, Is.EqualTo(new[] { "nope" }));
        Assert.That(some.Select(c => c.Key), Is.EqualTo(new[] { "strict/randread-qd1" }));
    }

    [TestCase("fio: IOPS 5, bandwidth 20 KiB/s\n", TestName = "Parser_RefusesOutputWithoutTheIoCountLine")]
    [TestCase("no result here\n", TestName = "Parser_RefusesOutputWithoutAResultLine")]
    public void Parser_Refuses(string serial) => Assert.That(FioResultParser.TryParse(serial, out _, out _), Is.False);

    [Test]
    public void Parser_ReadsNvmeFioOutput_UnitsConverted_NoIommuMeansZeroRequests()
    {
        const string serial = "nvme-fio: ManagedVmm\r\nfio: randwrite bs=65536 iodepth=16: 200 I/Os in 4000 us (virtual)\r\n"
            + "fio: IOPS 50000, bandwidth 3200000 KiB/s\nfio: latency ns: mean 2500 p50 2000 p99 9000 max 12000 (200 samples)\niommu: none\n";
        Assert.That(FioResultParser.TryParse(serial, out var v, out _), Is.True);
        Assert.That((v["ios"], v["time_ns"], v["iops"], v["bw_mibs"], v["lat_mean_us"], v["lat_p99_us"]), Is.EqualTo((200.0, 4_000_000.0, 50_000.0, 3125.0, 2.5, 9.0)));
        Assert.That(v.ContainsKey("maps"), Is.False);
    }

    [Test]
    public void Executor_RunsEveryConfigurationInParallel_ResultsInMatrixOrder_WithProgress()
    {
        var configs = BenchMatrix.Select(null, null, CostProfile.Seed, 100, out _);
        var fake = new FakeRunner();
        var progress = new List<int>();
        var results = BenchExecutor.Run(configs, fake, 2, (done, total, _) => progress.Add(done));
        Assert.That(results.Select(r => r.Configuration), Is.EqualTo(configs));
        Assert.That(progress, Is.EqualTo(Enumerable.Range(1, 25)));
        Assert.That(fake.Runs, Is.EqualTo(25));
    }

    [Test]
    public void Report_RatioToStrict_PerIoCounters_CsvJsonSvg()
    {
        var configs = BenchMatrix.Select(["strict", "lazy-single"], ["randread-qd32"], CostProfile.Seed, 100, out _);
        var results = BenchExecutor.Run(configs, new FakeRunner(), 1);
        var lazy = results[1];
        Assert.Multiple(() =>
        {
            Assert.That(BenchReport.RatioToStrict(lazy, results), Is.EqualTo(1.3).Within(1e-9));
            Assert.That((lazy.MapsPerIo, lazy.UnmapsPerIo, lazy.KicksPerIo), Is.EqualTo((2.0, 1.0, 3.0)));
            Assert.That(lazy.Mips, Is.EqualTo(2.0));
            string[] csv = BenchReport.Csv(results).TrimEnd().Split('\n');
            Assert.That(csv, Has.Length.EqualTo(3));
            Assert.That(csv[2], Does.StartWith("seed,lazy-single,randread-qd32,100,13000,"));
            Assert.That(csv[2], Does.Contain(",1.3,"));
            var json = BenchReport.Json(results, CostProfile.Seed);
            Assert.That(json["results"]![1]!["ratioToStrict"]!.GetValue<double>(), Is.EqualTo(1.3).Within(1e-9));
            Assert.That(json["profile"]!["ExitNs"]!.GetValue<long>(), Is.EqualTo(4_000));
            string svg = BenchChart.Svg(results);
            Assert.That(svg, Does.StartWith("<svg").And.Contain("lazy-single / randread-qd32: 1.300"));
            Assert.That(BenchReport.Table(results), Does.Contain("1.300"));
        });
    }

    [Test]
    public void FailedRun_IsReportedNotThrown()
    {
        var c = BenchMatrix.Select(["strict"], ["randread-qd1"], CostProfile.Seed, 1, out _)[0];
        var results = new[] { BenchResult.Failed(c, "guest stopped") };
        Assert.That(BenchReport.Table(results), Does.Contain("FAILED: guest stopped"));
        Assert.That(BenchReport.Csv(results), Does.Contain("\"guest stopped\""));
    }

    /// <summary>
    /// Determinism of the bench pipeline: the same configuration run twice gives identical virtual-time results.
    /// With the fake runner this checks the pipeline only; the machine-level determinism (nvme-fio on the whole
    /// machine) needs the nvme-fio image (not yet on this branch).
    /// </summary>
    [Test]
    public void SameConfigurationTwice_IdenticalVirtualTimeResults()
    {
        var configs = BenchMatrix.Select(null, ["randread-qd32"], CostProfile.Seed, 500, out _);
        var a = BenchExecutor.Run(configs, new FakeRunner(), 2);
        var b = BenchExecutor.Run(configs, new FakeRunner(), 2);
        Assert.That(a.Select(r => (r.Iops, r.LatencyP99Us, r.VirtualTimeNs, r.Kicks)), Is.EqualTo(b.Select(r => (r.Iops, r.LatencyP99Us, r.VirtualTimeNs, r.Kicks))));
    }

    [Test]
    public void Command_WritesCsvJsonSvg_AndPrintsTheTable()
    {
        string dir = Path.Combine(Path.GetTempPath(), "bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            var command = BenchCommand.Create(output, error, _ => new FakeRunner());
            var root = new System.CommandLine.RootCommand { command };
            int status = root.Parse(["bench", "--variant", "strict", "--variant", "lazy-single", "--workload", "randread-qd1", "--ios", "50", "-o", dir])
                .Invoke(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
            Assert.That(status, Is.Zero, error.ToString());
            Assert.That(output.ToString(), Does.Contain("lazy-single").And.Contain("randread-qd1"));
            Assert.That(error.ToString(), Does.Contain("[2/2]"));
            Assert.That(File.ReadAllLines(Path.Combine(dir, "results.csv")), Has.Length.EqualTo(3));
            Assert.That(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!["results"]!.AsArray(), Has.Count.EqualTo(2));
            Assert.That(File.ReadAllText(Path.Combine(dir, "chart.svg")), Does.StartWith("<svg"));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    [TestCase("--profile", "nope", TestName = "Command_UnknownProfile_IsAUsageError")]
    [TestCase("--variant", "nope", TestName = "Command_UnknownVariant_IsAUsageError")]
    [TestCase("--image", "/nonexistent/nvme-fio.elf", TestName = "Command_MissingImage_IsAUsageError")]
    [TestCase("--security", "65", TestName = "Command_TooManySecurityProbes_IsAUsageError")]
    [TestCase("--security", "-1", TestName = "Command_NegativeSecurityProbes_IsAUsageError")]
    public void Command_BadInput(string option, string value)
    {
        var error = new StringWriter();
        int status = CliApplication.Run(["bench", option, value], new StringWriter(), error);
        Assert.That(status, Is.EqualTo(CliApplication.UsageError));
        Assert.That(error.ToString(), Does.StartWith("managedvmm: "));
    }
}
