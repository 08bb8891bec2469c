using ManagedVmm.Core;
using ManagedVmm.Core.Dma;
using ManagedVmm.Core.Memory;
using ManagedVmm.Devices.VirtioIommu.Spec;
using S = ManagedVmm.Devices.VirtioIommu.Spec.VirtioIommuStatus;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>DMA translation (reference §6.9): bypass rules, mappings, permissions, the MSI window, faults.</summary>
public sealed class TranslationTests
{
    private const ushort Nvme = IommuTestBench.Nvme;

    [Test]
    public void Covers_EveryOtherFunctionOnBusZero_ButNotItselfNorOtherBuses()
    {
        var bench = new IommuTestBench(o => o.ExcludedEndpoints.Add(0x0008));
        var t = bench.Iommu.Translator;
        Assert.Multiple(() =>
        {
            Assert.That(t.Covers(Bdf.FromRequesterId(Nvme)), Is.True);
            Assert.That(t.Covers(Bdf.FromRequesterId(0x00F8)), Is.True, "functions that appear later too");
            Assert.That(t.Covers(Bdf.FromRequesterId(IommuTestBench.Self)), Is.False);
            Assert.That(t.Covers(Bdf.FromRequesterId(0x0008)), Is.False, "excluded");
            Assert.That(t.Covers(new Bdf(1, 0, 0)), Is.False);
        });
    }

    [Test]
    public void UnattachedEndpoint_WithBypassOne_IsIdentity()
    {
        var bench = new IommuTestBench();
        var t = bench.Translate(Nvme, 0x1234_5678, 0x10000, DmaAccess.Write);
        Assert.That(t, Is.EqualTo(DmaTranslation.To(0x1234_5678, 0x10000)));
        Assert.That(bench.Stats.BypassTranslations, Is.EqualTo(1));
        Assert.That(bench.Stats.Faults, Is.Zero);
    }

    [Test]
    public void UnattachedEndpoint_WithBypassZero_FaultsWithReasonDomain()
    {
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(36, [0]);
        Assert.That(bench.Translate(Nvme, 0x1000, 4, DmaAccess.Write).IsFault, Is.True);
        Assert.That(bench.Iommu.Faults.TryDequeue(out var f), Is.True);
        Assert.That(f, Is.EqualTo(new VirtioIommuFault(VirtioIommuFaultReason.Domain,
            VirtioIommuFaultFlags.Write | VirtioIommuFaultFlags.Address, Nvme, 0x1000)));
        Assert.That(bench.Stats.FaultCount(VirtioIommuFaultReason.Domain), Is.EqualTo(1));
    }

    [Test]
    public void UnattachedEndpoint_WithoutBypassConfigOffered_IsBlockedUnlessLegacyBypassNegotiated()
    {
        var blocked = new IommuTestBench(o => o.Features = VirtioIommuFeatures.MapUnmap);
        Assert.That(blocked.Iommu.Config.Bypass, Is.False, "bypass presents 0 when BYPASS_CONFIG is not offered");
        Assert.That(blocked.Translate(Nvme, 0x1000, 4, DmaAccess.Read).IsFault, Is.True);

        var legacy = new IommuTestBench(o => o.Features = VirtioIommuFeatures.MapUnmap | VirtioIommuFeatures.Bypass);
        Assert.That(legacy.Translate(Nvme, 0x1000, 4, DmaAccess.Read).IsFault, Is.False);
    }

    [Test]
    public void BypassDomain_IsIdentity_EvenWithConfigBypassZero()
    {
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(36, [0]);
        bench.Attach(1, Nvme, (uint)VirtioIommuAttachFlags.Bypass);
        Assert.That(bench.Translate(Nvme, 0xABC000, 0x100, DmaAccess.Read), Is.EqualTo(DmaTranslation.To(0xABC000, 0x100)));
    }

    [Test]
    public void AttachedEndpoint_TranslatesThroughItsMapping()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, Nvme);
        bench.Map(1, 0x10_0000, 0x10_3FFF, 0x80_0000, VirtioIommuMapFlags.Read | VirtioIommuMapFlags.Write);
        Assert.That(bench.Translate(Nvme, 0x10_1010, 0x100, DmaAccess.Write), Is.EqualTo(DmaTranslation.To(0x80_1010, 0x100)));
        Assert.That(bench.Translate(Nvme, 0x10_3FF0, 0x100, DmaAccess.Read), Is.EqualTo(DmaTranslation.To(0x80_3FF0, 0x10)),
            "clipped at the end of the mapping");
    }

    [Test]
    public void AttachedEndpoint_UnmappedAddress_FaultsWithReasonMapping()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, Nvme);
        Assert.That(bench.Translate(Nvme, 0x5000, 1, DmaAccess.Read).IsFault, Is.True);
        bench.Iommu.Faults.TryDequeue(out var f);
        Assert.That(f.Reason, Is.EqualTo(VirtioIommuFaultReason.Mapping));
        Assert.That(f.Flags, Is.EqualTo(VirtioIommuFaultFlags.Read | VirtioIommuFaultFlags.Address));
    }

    [TestCase(VirtioIommuMapFlags.Read, DmaAccess.Write, true)]
    [TestCase(VirtioIommuMapFlags.Write, DmaAccess.Read, true)]
    [TestCase(VirtioIommuMapFlags.Read, DmaAccess.Read, false)]
    [TestCase(VirtioIommuMapFlags.Write, DmaAccess.Write, false)]
    [TestCase(VirtioIommuMapFlags.Read | VirtioIommuMapFlags.Write, DmaAccess.Read | DmaAccess.Write, false)]
    [TestCase(VirtioIommuMapFlags.Write, DmaAccess.Read | DmaAccess.Write, true)]
    [TestCase(VirtioIommuMapFlags.None, DmaAccess.Read, true)]
    public void Permission_IsCheckedAgainstTheMappingFlags(VirtioIommuMapFlags flags, DmaAccess access, bool faults)
    {
        var bench = new IommuTestBench();
        bench.Attach(1, Nvme);
        bench.Map(1, 0x1000, 0x1FFF, 0x9000, flags);
        Assert.That(bench.Translate(Nvme, 0x1800, 8, access).IsFault, Is.EqualTo(faults));
        if (faults)
        {
            bench.Iommu.Faults.TryDequeue(out var f);
            Assert.That(f.Reason, Is.EqualTo(VirtioIommuFaultReason.Mapping));
            Assert.That(f.Address, Is.EqualTo(0x1800UL));
        }
    }

    [Test]
    public void RangeSpanningTwoPhysicallyContiguousMappings_IsOnePiece()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, Nvme);
        bench.Map(1, 0x1000, 0x1FFF, 0x40_0000, VirtioIommuMapFlags.Read);
        bench.Map(1, 0x2000, 0x2FFF, 0x40_1000, VirtioIommuMapFlags.Read);
        Assert.That(bench.Translate(Nvme, 0x1800, 0x1000, DmaAccess.Read), Is.EqualTo(DmaTranslation.To(0x40_0800, 0x1000)));
    }

    [Test]
    public void RangeSpanningTwoScatteredMappings_IsTwoPiecesThroughTheDmaView()
    {
        using var ram = GuestRam.CreateFlat(16UL << 20);
        var bench = new IommuTestBench();
        bench.Attach(1, Nvme);
        bench.Map(1, 0x1000, 0x1FFF, 0x30_0000, VirtioIommuMapFlags.Read | VirtioIommuMapFlags.Write);
        bench.Map(1, 0x2000, 0x2FFF, 0x10_0000, VirtioIommuMapFlags.Read | VirtioIommuMapFlags.Write);
        Assert.That(bench.Translate(Nvme, 0x1FF0, 0x20, DmaAccess.Read), Is.EqualTo(DmaTranslation.To(0x30_0FF0, 0x10)));

        var view = new TranslatingGuestMemory(ram, bench.Iommu.Translator, Bdf.FromRequesterId(Nvme), "virtio-iommu");
        var data = Enumerable.Range(1, 0x20).Select(i => (byte)i).ToArray();
        Assert.That(view.TryWrite(0x1FF0, data), Is.True);
        var low = new byte[0x10];
        var high = new byte[0x10];
        ram.TryRead(0x30_0FF0, low);
        ram.TryRead(0x10_0000, high);
        Assert.That(low.Concat(high), Is.EqualTo(data));
        var back = new byte[0x20];
        Assert.That(view.TryRead(0x1FF0, back), Is.True);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public void WriteRunningOffTheEndOfTheMappings_FaultsAndWritesNothing()
    {
        using var ram = GuestRam.CreateFlat(16UL << 20);
        var bench = new IommuTestBench();
        bench.Attach(1, Nvme);
        bench.Map(1, 0x1000, 0x1FFF, 0x30_0000, VirtioIommuMapFlags.Write);
        var view = new TranslatingGuestMemory(ram, bench.Iommu.Translator, Bdf.FromRequesterId(Nvme), "virtio-iommu");
        Assert.That(view.TryWrite(0x1FF0, new byte[0x20].Select(_ => (byte)0xCC).ToArray()), Is.False);
        var probe = new byte[0x10];
        ram.TryRead(0x30_0FF0, probe);
        Assert.That(probe, Is.All.EqualTo(0));
        Assert.That(bench.Iommu.Faults.TryDequeue(out var f) && f.Address == 0x2000, Is.True);
    }

    [Test]
    public void MsiWindow_IsIdentityForAttachedEndpoints_ClippedToTheWindow()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, Nvme);
        Assert.That(bench.Translate(Nvme, 0xFEE0_0000, 4, DmaAccess.Write), Is.EqualTo(DmaTranslation.To(0xFEE0_0000, 4)));
        Assert.That(bench.Translate(Nvme, 0xFEEF_FFFC, 16, DmaAccess.Write), Is.EqualTo(DmaTranslation.To(0xFEEF_FFFC, 4)));
        Assert.That(bench.Stats.MsiWindowTranslations, Is.EqualTo(2));
    }

    [Test]
    public void ReservedRegion_FaultsForAttachedEndpoints()
    {
        var bench = new IommuTestBench(o => o.ReservedRegions.Add(new VirtioIommuReservedRegion { Start = 0x8000_0000, End = 0x8000_FFFF }));
        bench.Attach(1, Nvme);
        Assert.That(bench.Translate(Nvme, 0x8000_1000, 4, DmaAccess.Read).IsFault, Is.True);
        bench.Iommu.Faults.TryDequeue(out var f);
        Assert.That(f.Reason, Is.EqualTo(VirtioIommuFaultReason.Mapping));
    }

    [Test]
    public void IommuOwnRequests_AreNeverTranslated()
    {
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(36, [0]);
        Assert.That(bench.Translate(IommuTestBench.Self, 0x1000, 8, DmaAccess.Read), Is.EqualTo(DmaTranslation.To(0x1000, 8)));
        Assert.That(bench.Stats.Faults, Is.Zero);
    }

    [Test]
    public void AfterUnmapAndDetach_TranslationFaults()
    {
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(36, [0]);
        bench.Attach(1, Nvme);
        bench.Map(1, 0x1000, 0x1FFF, 0x9000, VirtioIommuMapFlags.Read);
        Assert.That(bench.Translate(Nvme, 0x1000, 4, DmaAccess.Read).IsFault, Is.False);
        Assert.That(bench.Unmap(1, 0x1000, 0x1FFF), Is.EqualTo(S.Ok));
        Assert.That(bench.Translate(Nvme, 0x1000, 4, DmaAccess.Read).IsFault, Is.True);
        bench.Map(1, 0x1000, 0x1FFF, 0x9000, VirtioIommuMapFlags.Read);
        bench.Detach(1, Nvme);
        Assert.That(bench.Translate(Nvme, 0x1000, 4, DmaAccess.Read).IsFault, Is.True, "no access to a domain's mappings after DETACH");
    }

    [Test]
    public void FaultQueue_IsBounded_AndCountsDroppedEvents()
    {
        var bench = new IommuTestBench(o => o.MaxPendingFaults = 2);
        bench.Iommu.WriteConfig(36, [0]);
        int raised = 0;
        bench.Iommu.Faults.FaultPending += () => raised++;
        for (int i = 0; i < 5; i++)
        {
            bench.Translate(Nvme, (ulong)i * 0x1000, 4, DmaAccess.Read);
        }

        Assert.Multiple(() =>
        {
            Assert.That(raised, Is.EqualTo(2));
            Assert.That(bench.Iommu.Faults.Count, Is.EqualTo(2));
            Assert.That(bench.Stats.FaultEventsDropped, Is.EqualTo(3));
            Assert.That(bench.Stats.Faults, Is.EqualTo(5));
        });
        Assert.That(bench.Iommu.Faults.TryDequeue(out var first), Is.True);
        Assert.That(first.Address, Is.Zero, "oldest first");
        Assert.That(bench.Iommu.Faults.DropPending(), Is.EqualTo(1), "no eventq buffer: the glue drops the rest");
        Assert.That(bench.Stats.FaultEventsDelivered, Is.EqualTo(1));
        Assert.That(bench.Stats.FaultEventsDropped, Is.EqualTo(4));
    }

    [Test]
    public void TranslationAtTheTopOfTheAddressSpace_DoesNotWrap()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, Nvme);
        bench.Map(1, 0xFFFF_FFFF_FFFF_F000, ulong.MaxValue, 0x1000, VirtioIommuMapFlags.Read);
        Assert.That(bench.Translate(Nvme, 0xFFFF_FFFF_FFFF_FFF0, 0x100, DmaAccess.Read), Is.EqualTo(DmaTranslation.To(0x1FF0, 0x10)));
        Assert.That(bench.Translate(Nvme, ulong.MaxValue, ulong.MaxValue, DmaAccess.Read), Is.EqualTo(DmaTranslation.To(0x1FFF, 1)));
    }
}
