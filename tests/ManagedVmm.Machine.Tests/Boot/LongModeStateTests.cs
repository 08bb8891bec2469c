using ManagedVmm.Core.Memory;
using ManagedVmm.Machine.Boot;

namespace ManagedVmm.Machine.Tests.Boot;

public sealed class LongModeStateTests
{
    [Test]
    public void BootState_IsLongModeWithInterruptsOff()
    {
        using var h = BootHarness.Create();
        var s = BootHarness.Boot(h, TestElf.Simple().Build()).State;
        Assert.Multiple(() =>
        {
            Assert.That(s.Rip, Is.EqualTo(0x10_0000UL));
            Assert.That(s.Rflags, Is.EqualTo(0x2UL), "IF = 0, reserved bit 1 set");
            Assert.That(s.Cr0 & 0x8000_0001, Is.EqualTo(0x8000_0001UL), "PE and PG");
            Assert.That(s.Cr4 & 0x20, Is.EqualTo(0x20UL), "PAE");
            Assert.That(s.Efer & 0x500, Is.EqualTo(0x500UL), "LME and LMA");
            Assert.That(s.Cr3, Is.EqualTo(BootLayout.PageTablesAddress));
            Assert.That(s.Rdi, Is.EqualTo(BootLayout.BootInfoAddress));
            Assert.That(s.Rsp % 16, Is.EqualTo(8UL), "as if the entry had been called");
            Assert.That(s.Rsp, Is.InRange(BootLayout.StackBottom, BootLayout.StackTop));
        });
    }

    [Test]
    public void Gdt_HoldsA64BitCodeSegmentAndAFlatDataSegment()
    {
        using var h = BootHarness.Create();
        var s = BootHarness.Boot(h, TestElf.Simple().Build()).State;
        h.Ram.TryReadUInt64(s.GdtBase + s.Cs, out ulong code);
        h.Ram.TryReadUInt64(s.GdtBase + s.DataSelector, out ulong data);
        h.Ram.TryReadUInt64(s.GdtBase + s.Tr, out ulong tss);
        Assert.Multiple(() =>
        {
            Assert.That(s.GdtLimit, Is.EqualTo(39));
            Assert.That((code >> 47) & 1, Is.EqualTo(1UL), "code present");
            Assert.That((code >> 43) & 1, Is.EqualTo(1UL), "code: executable");
            Assert.That((code >> 53) & 1, Is.EqualTo(1UL), "code: L (64-bit)");
            Assert.That((code >> 54) & 1, Is.EqualTo(0UL), "code: D clear with L");
            Assert.That((code >> 45) & 3, Is.EqualTo(0UL), "DPL 0");
            Assert.That((data >> 47) & 1, Is.EqualTo(1UL), "data present");
            Assert.That((data >> 41) & 1, Is.EqualTo(1UL), "data writable");
            Assert.That((data >> 43) & 1, Is.EqualTo(0UL), "data not code");
            Assert.That((tss >> 40) & 0xF, Is.EqualTo(0xBUL), "busy 64-bit TSS");
            Assert.That((tss >> 16) & 0xFF_FFFF, Is.EqualTo(s.TrBase & 0xFF_FFFF), "TSS base");
        });
    }

    [TestCase(64UL << 20)]
    [TestCase(512UL << 20)]
    [TestCase(4UL << 30)]
    public void PageTables_IdentityMapTheLow4GiBAndAllRam(ulong memory)
    {
        using var h = BootHarness.Create(memory: memory);
        var s = BootHarness.Boot(h, TestElf.Simple().Build()).State;
        var probes = new List<ulong> { 0, 0x1000, 0x10_0000, 0xB000_0000, 0xC000_0000, 0xFEE0_0000, 0xFFFF_F000, memory - 0x1000 };
        foreach (var r in h.Ram.Regions)
        {
            probes.Add(r.GuestBase);
            probes.Add(r.End - 1);
            probes.Add(r.GuestBase + ((r.End - r.GuestBase) / 2) + 0x123);
        }

        Assert.Multiple(() =>
        {
            foreach (ulong va in probes)
            {
                Assert.That(Walk(h, s.Cr3, va), Is.EqualTo(va), $"0x{va:x}");
            }
        });
    }

    [Test]
    public void PageTables_UseTwoMiBPagesBelow4GiBAndOneGiBPagesAbove()
    {
        using var h = BootHarness.Create(memory: 4UL << 30);
        var s = BootHarness.Boot(h, TestElf.Simple().Build()).State;
        Assert.Multiple(() =>
        {
            Assert.That(PageSize(h, s.Cr3, 0x20_0000), Is.EqualTo(2UL << 20));
            Assert.That(PageSize(h, s.Cr3, 0xFEE0_0000), Is.EqualTo(2UL << 20));
            Assert.That(PageSize(h, s.Cr3, 0x1_4000_0000), Is.EqualTo(1UL << 30));
        });
    }

    /// <summary>A four-level walk (Intel SDM Vol. 3A §4.5) returning the physical address, or null when not present.</summary>
    internal static ulong? Walk(Testing.MachineHarness h, ulong cr3, ulong va) => WalkCore(h, cr3, va).Physical;

    private static ulong PageSize(Testing.MachineHarness h, ulong cr3, ulong va) => WalkCore(h, cr3, va).Size;

    private static (ulong? Physical, ulong Size) WalkCore(Testing.MachineHarness h, ulong cr3, ulong va)
    {
        const ulong mask = 0x000F_FFFF_FFFF_F000;
        ulong table = cr3 & mask;
        int[] shifts = [39, 30, 21, 12];
        for (int level = 0; level < 4; level++)
        {
            int shift = shifts[level];
            Assert.That(h.Ram.TryReadUInt64(table + (((va >> shift) & 0x1FF) * 8), out ulong entry), Is.True, "tables are in RAM");
            if ((entry & 1) == 0)
            {
                return (null, 0);
            }

            Assert.That(entry & 2, Is.EqualTo(2UL), "writable");
            bool large = (entry & 0x80) != 0;
            if (level == 3 || (large && level is 1 or 2))
            {
                ulong size = 1UL << shift;
                return ((entry & mask & ~(size - 1)) | (va & (size - 1)), size);
            }

            table = entry & mask;
        }

        return (null, 0);
    }
}
