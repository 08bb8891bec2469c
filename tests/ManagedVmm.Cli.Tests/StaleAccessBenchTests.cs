using ManagedVmm.Cli.Bench;

namespace ManagedVmm.Cli.Tests;

/// <summary>
/// The security side of lazy mode on the real nvme-fio image: a device that keeps reading to an IOVA after the
/// driver unmapped it reaches memory under lazy invalidation, never under strict.
/// </summary>
public sealed class StaleAccessBenchTests
{
    private static readonly Dictionary<string, StaleResult> Results = [];

    [TestCase("strict", false)]
    [TestCase("lazy-percpu", true)]
    [TestCase("lazy-single", true)]
    public void StaleAccessesAfterUnmap_SucceedOnlyUnderLazyInvalidation(string variant, bool lazy)
    {
        var r = Run(variant);

        Assert.That(r.Error, Is.Null);
        Assert.That(r.Probes, Is.EqualTo(4));
        Assert.That(r.Unclosed, Is.Zero, "every probe's window closed within the bound");
        if (lazy)
        {
            Assert.That(r.Succeeded, Is.GreaterThan(0));
            Assert.That(r.WindowMaxNs, Is.GreaterThan(0));
        }
        else
        {
            Assert.That((r.Succeeded, r.OpenProbes, r.WindowMaxNs), Is.EqualTo((0L, 0L, 0L)));
        }
    }

    [Test]
    public void StaleLine_ParsedIntoTheResult()
    {
        var c = StaleAccessBench.Configurations(CostProfile.Seed, 2, 10)[0];
        var r = StaleAccessBench.TryParse(c, "x\nstale: probes 2 accesses 18 succeeded 16 open 2 unclosed 0 window_ns mean 10000 max 12000\n", 1);
        Assert.That(r, Is.Not.Null);
        Assert.That((r!.Probes, r.Accesses, r.Succeeded, r.OpenProbes, r.Unclosed, r.WindowMeanNs, r.WindowMaxNs), Is.EqualTo((2L, 18L, 16L, 2L, 0L, 10000L, 12000L)));
        Assert.That(StaleAccessBench.TryParse(c, "fio: IOPS 1, bandwidth 1 KiB/s\n", 1), Is.Null);
    }

    [Test]
    public void SecurityCommand_PrintsTheThreeVariants_AndWritesStaleCsv()
    {
        string dir = Path.Combine(Path.GetTempPath(), "stale-" + Guid.NewGuid().ToString("N"));
        try
        {
            string image = Path.Combine(CliRunner.RepositoryRoot(), "guest-images", "nvme-fio", "nvme-fio.elf");
            var output = new StringWriter();
            var error = new StringWriter();
            int status = CliApplication.Run(["bench", "--security", "2", "--image", image, "-o", dir], output, error);
            Assert.That(status, Is.Zero, error.ToString());
            Assert.That(output.ToString(), Does.Contain("strict").And.Contain("lazy-percpu").And.Contain("lazy-single"));
            string[] csv = File.ReadAllLines(Path.Combine(dir, "stale.csv"));
            Assert.That(csv, Has.Length.EqualTo(4));
            Assert.That(csv[1], Does.StartWith("strict,seed,2,2,0,"));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    private static StaleResult Run(string variant)
    {
        lock (Results)
        {
            if (!Results.TryGetValue(variant, out var r))
            {
                string image = Path.Combine(CliRunner.RepositoryRoot(), "guest-images", "nvme-fio", "nvme-fio.elf");
                var runner = new MachineConfigurationRunner("nvme-fio.elf", File.ReadAllBytes(image));
                var c = StaleAccessBench.Configurations(CostProfile.Seed, 4, 20).Single(x => x.Variant.Name == variant);
                r = StaleAccessBench.Run(runner, c);
                Results[variant] = r;
            }

            return r;
        }
    }
}
