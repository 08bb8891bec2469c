using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Devices.VirtioIommu.Spec;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>Device configuration (virtio v1.2 §5.13.4) and device vs system reset (§5.13.5, reference §1.12).</summary>
public sealed class ConfigAndResetTests
{
    [Test]
    public void Config_PresentsEveryFieldAtItsSpecOffset()
    {
        var bench = new IommuTestBench(o =>
        {
            o.Granule = 1;
            o.InputRangeStart = 0x1000;
            o.InputRangeEnd = (1UL << 39) - 1;
            o.DomainRangeStart = 1;
            o.DomainRangeEnd = 1000;
            o.ProbeSize = 48;
        });
        var c = new byte[40];
        bench.Iommu.ReadConfig(0, c);
        Assert.Multiple(() =>
        {
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(c), Is.EqualTo(ulong.MaxValue), "page_size_mask: every size from 1 byte");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(c.AsSpan(8)), Is.EqualTo(0x1000UL));
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(c.AsSpan(16)), Is.EqualTo((1UL << 39) - 1));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(24)), Is.EqualTo(1u));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(28)), Is.EqualTo(1000u));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(32)), Is.EqualTo(48u));
            Assert.That(c[36], Is.EqualTo(1));
            Assert.That(c[37..], Is.All.EqualTo(0));
        });
    }

    [Test]
    public void Config_DefaultPageSizeMask_IsEveryPowerOfTwoFrom4K()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Iommu.Config.PageSizeMask, Is.EqualTo(0xFFFF_FFFF_FFFF_F000UL));
        Assert.That(bench.Iommu.Config.Granule, Is.EqualTo(4096UL));
    }

    [TestCase(-1, 4)]
    [TestCase(38, 4)]
    [TestCase(40, 8)]
    [TestCase(36, 8)]
    public void Config_ReadsAtAnyOffsetAndWidth_PastTheEndReadZero(int offset, int width)
    {
        var bench = new IommuTestBench();
        var b = new byte[width];
        Array.Fill(b, (byte)0xFF);
        bench.Iommu.ReadConfig(offset, b);
        Assert.That(b.Count(x => x == 0xFF), Is.Zero);
    }

    [Test]
    public void WriteBypass_WithBypassConfigNegotiated_TakesEffect()
    {
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(36, [0]);
        Assert.That(bench.Iommu.Config.Bypass, Is.False);
        Assert.That(bench.Iommu.UnattachedEndpointsBypass, Is.False);
        bench.Iommu.WriteConfig(36, [1]);
        Assert.That(bench.Iommu.Config.Bypass, Is.True);
    }

    [Test]
    public void WriteBypass_ValueOtherThanZeroOrOne_IsIgnored()
    {
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(36, [2]);
        Assert.That(bench.Iommu.Config.Bypass, Is.True);
        var b = new byte[1];
        bench.Iommu.ReadConfig(36, b);
        Assert.That(b[0], Is.EqualTo(1));
        Assert.That(bench.GuestErrors.Count, Is.EqualTo(1));
    }

    [Test]
    public void WriteToReadOnlyFields_IsIgnored()
    {
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(0, new byte[36]);
        Assert.That(bench.Iommu.Config.PageSizeMask, Is.EqualTo(0xFFFF_FFFF_FFFF_F000UL));
        var c = new byte[8];
        bench.Iommu.ReadConfig(0, c);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(c), Is.EqualTo(0xFFFF_FFFF_FFFF_F000UL));
    }

    [Test]
    public void FourByteWriteCoveringBypass_UpdatesBypassOnly()
    {
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(36, [0, 9, 9, 9]);
        var c = new byte[4];
        bench.Iommu.ReadConfig(36, c);
        Assert.That(c, Is.EqualTo(new byte[] { 0, 0, 0, 0 }));
    }

    [Test]
    public void SystemReset_RestoresBootBypass_AndDetachesEverything()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        bench.Iommu.WriteConfig(36, [0]);
        bench.Iommu.Reset(ResetKind.System);
        Assert.That(bench.Iommu.Config.Bypass, Is.True);
        Assert.That(bench.Iommu.Domains.DomainCount, Is.Zero);
    }

    [Test]
    public void SystemReset_WithBootBypassOff_RestoresZero()
    {
        var bench = new IommuTestBench(o => o.BootBypass = false);
        Assert.That(bench.Iommu.Config.Bypass, Is.False);
        bench.Iommu.WriteConfig(36, [1]);
        bench.Iommu.Reset(ResetKind.System);
        Assert.That(bench.Iommu.Config.Bypass, Is.False);
    }

    [Test]
    public void DeviceReset_ForgetsNegotiatedFeaturesAndPendingFaults()
    {
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(36, [0]);
        bench.Translate(IommuTestBench.Nvme, 0, 1, Core.Dma.DmaAccess.Read);
        bench.Iommu.Reset(ResetKind.Device);
        Assert.That(bench.Iommu.Faults.Count, Is.Zero);
        bench.Iommu.WriteConfig(36, [1]);
        Assert.That(bench.Iommu.Config.Bypass, Is.False, "BYPASS_CONFIG is not negotiated after a reset");
    }

    [Test]
    public void AcceptFeatures_RefusesBitsNotOffered()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Iommu.AcceptFeatures(VirtioIommuFeatures.Bypass), Is.False);
        Assert.That(bench.Iommu.NegotiatedFeatures, Is.EqualTo(bench.Iommu.OfferedFeatures), "unchanged");
    }
}
