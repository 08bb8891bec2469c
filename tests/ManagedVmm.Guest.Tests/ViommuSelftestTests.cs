namespace ManagedVmm.Guest.Tests;

/// <summary>viommu-selftest on the default machine: the device exercised from the guest side.</summary>
public sealed class ViommuSelftestTests
{
    /// <summary>43 checks with a paging default domain; 41 with passthrough (no fault phase through the DMA API).</summary>
    [TestCase("", 43)]
    [TestCase("iommu.passthrough=1", 41)]
    [TestCase("iommu.strict=1", 43)]
    public void Selftest_PassesEveryCheck(string switches, int checks)
    {
        var o = GuestRun.Boot("viommu-selftest", switches);

        Assert.Multiple(() =>
        {
            Assert.That(o.GuestStatus, Is.EqualTo(0), o.Describe());
            Assert.That(o.Serial, Does.Contain($"viommu-selftest: {checks} checks, 0 failed: PASS"));
            Assert.That(o.Serial, Does.Not.Contain("FAIL "));
            Assert.That(o.Serial, Does.Contain("viommu: page fault from EP 16 at 0x40000000 [W]"),
                "the NVMe's DMA to an unmapped IOVA is reported on the event queue");
        });
    }
}
