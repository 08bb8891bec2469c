
/// <summary>Determinism of the real bench configuration: nvme-fio, seed costs, run twice (ignored until the image is on this branch).</summary>
public sealed class NvmeFioDeterminismTests
{
    [Test]
    public void SameNvmeFioConfigurationTwice_IdenticalVirtualTimeResults()
    {
        string image = Path.Combine(CliRunner.RepositoryRoot(), "guest-images", "nvme-fio", "nvme-fio.elf");
        if (!File.Exists(image))
        {
            Assert.Ignore("guest-images/nvme-fio/nvme-fio.elf is not built on this branch yet");
        }

        var runner = new MachineConfigurationRunner("nvme-fio.elf", File.ReadAllBytes(image));
        var config = BenchMatrix.Select(["lazy-single"], ["randrw-qd32"], CostProfile.Seed, 300, out _)[0];

        var a = runner.Run(config);
        var b = runner.Run(config);

        Assert.That(a.Error, Is.Null);
        Assert.That(a.Ios, Is.EqualTo(300));
        Assert.That(
            (b.Iops, b.BandwidthMiBs, b.LatencyMeanUs, b.LatencyP99Us, b.LatencyMaxUs, b.Maps, b.Unmaps, b.Kicks, b.VirtualTimeNs, b.Instructions),
            Is.EqualTo((a.Iops, a.BandwidthMiBs, a.LatencyMeanUs, a.LatencyP99Us, a.LatencyMaxUs, a.Maps, a.Unmaps, a.Kicks, a.VirtualTimeNs, a.Instructions)));
    }
}
