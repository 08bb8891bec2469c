using ManagedVmm.Core.Dma;
using ManagedVmm.Core.Memory;

namespace ManagedVmm.Core.Tests;

public sealed class DmaTests
{
    /// <summary>A translator with fixed page mappings: IOVA page → GPA page, with permissions.</summary>
    private sealed class PageTranslator : IDmaTranslator
    {
        public Dictionary<ulong, (ulong Gpa, DmaAccess Allowed)> Pages { get; } = [];

        public int Faults { get; private set; }

        public bool Covers(Bdf requester) => requester.Device == 3;

        public DmaTranslation Translate(Bdf requester, ulong iova, ulong length, DmaAccess access)
        {
            if (Pages.TryGetValue(iova & ~0xFFFUL, out var p) && (p.Allowed & access) == access)
            {
                ulong inPage = 0x1000 - (iova & 0xFFF);
                return DmaTranslation.To(p.Gpa + (iova & 0xFFF), Math.Min(length, inPage));
            }

            Faults++;
            return DmaTranslation.Fault;
        }
    }

    [Test]
    public void RequesterNotCovered_GetsIdentityView()
    {
        using var ram = GuestRam.CreateFlat(1 << 20);
        var provider = new DmaMemoryProvider(ram, [new PageTranslator()]);
        var view = provider.ForRequester(new Bdf(0, 4, 0));
        Assert.That(view.TryWriteUInt32(0x2000, 7), Is.True);
        Assert.That(ram.TryReadUInt32(0x2000, out uint v) && v == 7, Is.True);
        Assert.That(view.Description, Does.Contain("identity"));
    }

    [Test]
    public void CoveredRequester_AccessSpanningTwoMappings_IsTranslatedPieceByPiece()
    {
        using var ram = GuestRam.CreateFlat(1 << 20);
        var t = new PageTranslator();
        t.Pages[0x10000] = (0x5000, DmaAccess.Read | DmaAccess.Write);
        t.Pages[0x11000] = (0x9000, DmaAccess.Read | DmaAccess.Write);
        var view = new DmaMemoryProvider(ram, [t]).ForRequester(new Bdf(0, 3, 0));
        Assert.That(view.TryWriteUInt64(0x10FFC, 0x1122334455667788), Is.True);
        Assert.That(ram.TryReadUInt32(0x5FFC, out uint low) && low == 0x55667788, Is.True);
        Assert.That(ram.TryReadUInt32(0x9000, out uint high) && high == 0x11223344, Is.True);
        Assert.That(view.TryReadUInt64(0x10FFC, out ulong back) && back == 0x1122334455667788, Is.True);
    }

    [Test]
    public void WriteFaultingPartWay_ChangesNothing()
    {
        using var ram = GuestRam.CreateFlat(1 << 20);
        var t = new PageTranslator();
        t.Pages[0x10000] = (0x5000, DmaAccess.Read | DmaAccess.Write);
        var view = new DmaMemoryProvider(ram, [t]).ForRequester(new Bdf(0, 3, 0));
        Assert.That(view.TryWriteUInt64(0x10FFC, ulong.MaxValue), Is.False);
        Assert.That(ram.TryReadUInt32(0x5FFC, out uint v) && v == 0, Is.True, "the mapped half was not written");
        Assert.That(t.Faults, Is.EqualTo(1));
    }

    [Test]
    public void PermissionMismatch_Faults()
    {
        using var ram = GuestRam.CreateFlat(1 << 20);
        var t = new PageTranslator();
        t.Pages[0x10000] = (0x5000, DmaAccess.Read);
        var view = new DmaMemoryProvider(ram, [t]).ForRequester(new Bdf(0, 3, 0));
        Assert.That(view.TryReadUInt32(0x10000, out _), Is.True);
        Assert.That(view.TryWriteUInt32(0x10000, 1), Is.False);
    }

    [Test]
    public void WriteSpanningManyMappings_StillLandsWhole()
    {
        using var ram = GuestRam.CreateFlat(1 << 22);
        var t = new PageTranslator();
        for (ulong i = 0; i < 40; i++)
        {
            t.Pages[0x100000 + (i * 0x1000)] = (0x200000 + (i * 0x2000), DmaAccess.Write | DmaAccess.Read);
        }

        var view = new DmaMemoryProvider(ram, [t]).ForRequester(new Bdf(0, 3, 0));
        var data = Enumerable.Range(0, 40 * 4096).Select(i => (byte)i).ToArray();
        Assert.That(view.TryWrite(0x100000, data), Is.True);
        var back = new byte[data.Length];
        Assert.That(view.TryRead(0x100000, back), Is.True);
        Assert.That(back, Is.EqualTo(data));
    }
}
