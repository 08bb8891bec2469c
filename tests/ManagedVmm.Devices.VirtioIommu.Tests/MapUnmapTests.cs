using ManagedVmm.Devices.VirtioIommu.Spec;
using S = ManagedVmm.Devices.VirtioIommu.Spec.VirtioIommuStatus;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>MAP and UNMAP rules of virtio v1.2 §5.13.6.3–4 and the check order of reference §6.6–6.7.</summary>
public sealed class MapUnmapTests
{
    private static IEnumerable<TestCaseData> UnmapSpecExamples()
    {
        // (maps as start,end pairs; unmap range; expected status; mappings left) — the spec's UNMAP examples.
        yield return new TestCaseData(Array.Empty<ulong>(), 0UL, 4UL, S.Ok, Array.Empty<ulong>()).SetName("Unmap_Example1_EmptySpace_IsOk");
        yield return new TestCaseData(new ulong[] { 0, 9 }, 0UL, 9UL, S.Ok, Array.Empty<ulong>()).SetName("Unmap_Example2_ExactMapping_RemovesIt");
        yield return new TestCaseData(new ulong[] { 0, 4, 5, 9 }, 0UL, 9UL, S.Ok, Array.Empty<ulong>()).SetName("Unmap_Example3_TwoMappings_RemovesBoth");
        yield return new TestCaseData(new ulong[] { 0, 9 }, 0UL, 4UL, S.Range, new ulong[] { 0 }).SetName("Unmap_Example4_WouldSplit_IsRangeAndRemovesNothing");
        yield return new TestCaseData(new ulong[] { 0, 4, 5, 9 }, 0UL, 4UL, S.Ok, new ulong[] { 5 }).SetName("Unmap_Example5_FirstOfTwo_RemovesOnlyIt");
        yield return new TestCaseData(new ulong[] { 0, 4 }, 0UL, 9UL, S.Ok, Array.Empty<ulong>()).SetName("Unmap_Example6_SpillsOver_RemovesMapping");
        yield return new TestCaseData(new ulong[] { 0, 4, 10, 14 }, 0UL, 14UL, S.Ok, Array.Empty<ulong>()).SetName("Unmap_Example7_GapBetween_RemovesBoth");
        yield return new TestCaseData(new ulong[] { 0, 4, 5, 9, 10, 19 }, 0UL, 14UL, S.Range, new ulong[] { 0, 5, 10 }).SetName("Unmap_LastMappingSplit_IsRangeAndRemovesNothing");
        yield return new TestCaseData(new ulong[] { 0, 4, 5, 9 }, 3UL, 9UL, S.Range, new ulong[] { 0, 5 }).SetName("Unmap_FirstMappingSplit_IsRangeAndRemovesNothing");
    }

    [TestCaseSource(nameof(UnmapSpecExamples))]
    public void Unmap_FollowsTheSpecExamples(ulong[] maps, ulong start, ulong end, S expected, ulong[] startsLeft)
    {
        var bench = new IommuTestBench(o => o.Granule = 1);
        bench.Attach(1, 0);
        for (int i = 0; i < maps.Length; i += 2)
        {
            Assert.That(bench.Map(1, maps[i], maps[i + 1], 0x10_0000 + maps[i]), Is.EqualTo(S.Ok));
        }

        Assert.That(bench.Unmap(1, start, end), Is.EqualTo(expected));
        Assert.That(bench.MappingsOf(1).Select(m => m.VirtStart), Is.EqualTo(startsLeft));
    }

    [TestCase(0x1000UL, 0x1FFFUL, 0x2000UL, S.Ok)]
    [TestCase(0x1001UL, 0x1FFFUL, 0x2000UL, S.Range)]
    [TestCase(0x1000UL, 0x1FFEUL, 0x2000UL, S.Range)]
    [TestCase(0x1000UL, 0x1FFFUL, 0x2001UL, S.Range)]
    [TestCase(0x2000UL, 0x1FFFUL, 0x2000UL, S.Range)]
    [TestCase(0xFFFF_FFFF_FFFF_F000UL, 0xFFFF_FFFF_FFFF_FFFFUL, 0x2000UL, S.Ok)]
    [TestCase(0x1000UL, 0x2FFFUL, 0xFFFF_FFFF_FFFF_F000UL, S.Range)]
    [TestCase(0x1000UL, 0x1FFFUL, 0xFFFF_FFFF_FFFF_F000UL, S.Ok)]
    public void Map_ChecksOrderAndGranuleAlignment(ulong start, ulong end, ulong phys, S expected)
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        Assert.That(bench.Map(1, start, end, phys), Is.EqualTo(expected));
    }

    [Test]
    public void Map_SingleByteRange_IsInvalBecauseTheDriverMustSendEndAfterStart()
    {
        var bench = new IommuTestBench(o => o.Granule = 1);
        bench.Attach(1, 0);
        Assert.That(bench.Map(1, 5, 5, 0x1000), Is.EqualTo(S.Inval));
    }

    [Test]
    public void Map_OutsideInputRange_IsRange()
    {
        var bench = new IommuTestBench(o => { o.InputRangeStart = 0x1000; o.InputRangeEnd = (1UL << 39) - 1; });
        bench.Attach(1, 0);
        Assert.Multiple(() =>
        {
            Assert.That(bench.Map(1, 0, 0xFFF, 0x1000), Is.EqualTo(S.Range));
            Assert.That(bench.Map(1, 1UL << 39, (1UL << 39) + 0xFFF, 0x1000), Is.EqualTo(S.Range));
            Assert.That(bench.Map(1, (1UL << 39) - 0x1000, (1UL << 39) - 1, 0x1000), Is.EqualTo(S.Ok));
            Assert.That(bench.Unmap(1, 0, 0xFFF), Is.EqualTo(S.Range));
        });
    }

    [Test]
    public void Map_OverlappingTheMsiWindowOrAReservedRegion_IsInval()
    {
        var bench = new IommuTestBench(o => o.ReservedRegions.Add(new VirtioIommuReservedRegion { Start = 0x8000_0000, End = 0x8000_FFFF }));
        bench.Attach(1, 0);
        Assert.Multiple(() =>
        {
            Assert.That(bench.Map(1, 0xFEE0_0000, 0xFEE0_0FFF, 0xFEE0_0000), Is.EqualTo(S.Inval));
            Assert.That(bench.Map(1, 0xFE00_0000, 0xFEFF_FFFF, 0x1000_0000), Is.EqualTo(S.Inval));
            Assert.That(bench.Map(1, 0x8000_F000, 0x8001_0FFF, 0x1000_0000), Is.EqualTo(S.Inval));
            Assert.That(bench.Map(1, 0x8001_0000, 0x8001_0FFF, 0x1000_0000), Is.EqualTo(S.Ok));
        });
    }

    [Test]
    public void Map_MmioFlag_NeedsMmioNegotiated()
    {
        var withMmio = new IommuTestBench();
        withMmio.Attach(1, 0);
        Assert.That(withMmio.Map(1, 0, 0xFFF, 0x1000, VirtioIommuMapFlags.Mmio | VirtioIommuMapFlags.Write), Is.EqualTo(S.Ok));

        var without = new IommuTestBench(negotiate: VirtioIommuFeatures.MapUnmap);
        without.Attach(1, 0);
        Assert.That(without.Map(1, 0, 0xFFF, 0x1000, VirtioIommuMapFlags.Mmio | VirtioIommuMapFlags.Write), Is.EqualTo(S.Inval));
    }

    [Test]
    public void Map_UnknownFlagIsCheckedBeforeDomainExistence()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Map(9, 0, 0xFFF, 0, (VirtioIommuMapFlags)0x80), Is.EqualTo(S.Inval));
    }

    [Test]
    public void Map_BeyondMappingsPerDomain_IsNoMem()
    {
        var bench = new IommuTestBench(o => o.MaxMappingsPerDomain = 2);
        bench.Attach(1, IommuTestBench.HostBridge);
        bench.Attach(2, IommuTestBench.Nvme);
        Assert.That(bench.Map(1, 0x0000, 0x0FFF, 0), Is.EqualTo(S.Ok));
        Assert.That(bench.Map(1, 0x1000, 0x1FFF, 0), Is.EqualTo(S.Ok));
        Assert.That(bench.Map(1, 0x2000, 0x2FFF, 0), Is.EqualTo(S.NoMem));
        Assert.That(bench.Map(2, 0x2000, 0x2FFF, 0), Is.EqualTo(S.Ok), "the limit is per domain");
        Assert.That(bench.Unmap(1, 0, 0xFFF), Is.EqualTo(S.Ok));
        Assert.That(bench.Map(1, 0x2000, 0x2FFF, 0), Is.EqualTo(S.Ok), "room again after an UNMAP");
    }

    [Test]
    public void Map_BeyondTotalMappings_IsNoMem()
    {
        var bench = new IommuTestBench(o => o.MaxMappings = 2);
        bench.Attach(1, IommuTestBench.HostBridge);
        bench.Attach(2, IommuTestBench.Nvme);
        Assert.That(bench.Map(1, 0x0000, 0x0FFF, 0), Is.EqualTo(S.Ok));
        Assert.That(bench.Map(2, 0x0000, 0x0FFF, 0), Is.EqualTo(S.Ok));
        Assert.That(bench.Map(2, 0x1000, 0x1FFF, 0), Is.EqualTo(S.NoMem));
        Assert.That(bench.Detach(1, IommuTestBench.HostBridge), Is.EqualTo(S.Ok));
        Assert.That(bench.Map(2, 0x1000, 0x1FFF, 0), Is.EqualTo(S.Ok), "a destroyed domain gives its mappings back");
    }

    [Test]
    public void Unmap_WithReservedNonZero_IsInvalAndRemovesNothing()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        bench.Map(1, 0, 0xFFF, 0);
        Assert.That(bench.Send(IommuRequests.UnmapReq(1, 0, 0xFFF, reserved: 1)), Is.EqualTo(S.Inval));
        Assert.That(bench.MappingsOf(1), Has.Count.EqualTo(1));
    }

    [Test]
    public void Unmap_WholeAddressSpace_RemovesEverything()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        bench.Map(1, 0, 0xFFF, 0);
        bench.Map(1, 0xFFFF_FFFF_FFFF_F000, ulong.MaxValue, 0);
        Assert.That(bench.Unmap(1, 0, ulong.MaxValue), Is.EqualTo(S.Ok));
        Assert.That(bench.MappingsOf(1), Is.Empty);
        Assert.That(bench.Stats.LiveMappings, Is.Zero);
        Assert.That(bench.Stats.PeakMappings, Is.EqualTo(2));
    }
}
