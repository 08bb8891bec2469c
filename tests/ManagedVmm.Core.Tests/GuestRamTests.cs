using ManagedVmm.Core.Memory;

namespace ManagedVmm.Core.Tests;

public sealed class GuestRamTests
{
    [Test]
    public void ReadWrite_RoundTripsLittleEndian()
    {
        using var ram = GuestRam.CreateFlat(1 << 20);
        Assert.That(ram.TryWriteUInt64(0x1000, 0x1122_3344_5566_7788), Is.True);
        Assert.That(ram.TryReadUInt32(0x1000, out uint low), Is.True);
        Assert.That(low, Is.EqualTo(0x5566_7788u));
        Assert.That(ram.TryReadByte(0x1007, out byte top), Is.True);
        Assert.That(top, Is.EqualTo(0x11));
    }

    [TestCase(0xFFFFFUL, 2)]
    [TestCase(0x100000UL, 1)]
    [TestCase(ulong.MaxValue, 1)]
    [TestCase(ulong.MaxValue - 2, 8)]
    public void AccessBeyondRam_Fails(ulong address, int width)
    {
        using var ram = GuestRam.CreateFlat(1 << 20);
        var buffer = new byte[width];
        Assert.That(ram.TryRead(address, buffer), Is.False);
        Assert.That(ram.TryWrite(address, buffer), Is.False);
    }

    [Test]
    public void SplitRegions_HoleBetweenThemIsNotRam()
    {
        using var ram = new GuestRam([new RamRegion(0, 0x10000), new RamRegion(0x1_0000_0000, 0x10000)]);
        Assert.That(ram.TryWriteUInt32(0x1_0000_0000, 0xCAFEF00D), Is.True);
        Assert.That(ram.TryReadUInt32(0x1_0000_0000, out uint v) && v == 0xCAFEF00D, Is.True);
        Assert.That(ram.TryReadUInt32(0x10000, out _), Is.False);
        Assert.That(ram.TryReadUInt32(0xFFFE, out _), Is.False, "an access straddling a region end fails whole");
    }

    [Test]
    public void FiveGiB_IsPossible_AndUntouchedPagesReadZero()
    {
        using var ram = GuestRam.CreateFlat(5UL << 30);
        Assert.That(ram.Size, Is.EqualTo(5UL << 30));
        Assert.That(ram.TryWriteUInt32((5UL << 30) - 4, 0xA5A5A5A5), Is.True);
        Assert.That(ram.TryReadUInt32((5UL << 30) - 4, out uint v) && v == 0xA5A5A5A5, Is.True);
        Assert.That(ram.TryReadUInt64(3UL << 30, out ulong zero) && zero == 0, Is.True);
    }

    [Test]
    public void WatchedPage_ReportsFirstWriteOnly()
    {
        using var ram = GuestRam.CreateFlat(1 << 20);
        var hits = new List<ulong>();
        ram.WatchedPageWritten += hits.Add;
        ram.WatchPage(0x3456);
        ram.TryWriteByte(0x2FFF, 1);
        ram.TryWriteUInt32(0x3FFE, 1);
        ram.TryWriteByte(0x3000, 1);
        Assert.That(hits, Is.EqualTo(new[] { 0x3000UL }));
    }
}
