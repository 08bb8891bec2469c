using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;

namespace ManagedVmm.Core.Tests;

public sealed class BusTests
{
    private GuestErrorLog _errors = null!;
    private MmioBus _bus = null!;

    [SetUp]
    public void SetUp()
    {
        _errors = new GuestErrorLog();
        _bus = new MmioBus(_errors);
    }

    [TestCase(0x1000UL, 0x1000UL, "exact same range")]
    [TestCase(0x0800UL, 0x0900UL, "overlaps the start")]
    [TestCase(0x1FFFUL, 0x0001UL, "last byte")]
    [TestCase(0x0000UL, 0x10000UL, "covers it")]
    [TestCase(0x1800UL, 0x0010UL, "inside it")]
    public void Add_OverlappingRange_IsRefusedWithTheOtherName(ulong start, ulong length, string why)
    {
        _bus.Add(0x1000, 0x1000, new RecordingDevice(), "first");
        var ex = Assert.Throws<BusRangeConflictException>(() => _bus.Add(start, length, new RecordingDevice(), "second"), why);
        Assert.That(ex!.Message, Does.Contain("first").And.Contain("second"));
    }

    [Test]
    public void Add_AdjacentRanges_AreAccepted_AndLookupFindsEach()
    {
        var a = new RecordingDevice(0xAA);
        var b = new RecordingDevice(0xBB);
        var c = new RecordingDevice(0xCC);
        _bus.Add(0x2000, 0x1000, b, "b");
        _bus.Add(0x1000, 0x1000, a, "a");
        _bus.Add(0x3000, 0x10, c, "c");
        Span<byte> one = stackalloc byte[1];
        _bus.Read(0x1FFF, one);
        Assert.That(one[0], Is.EqualTo(0xAA));
        _bus.Read(0x2000, one);
        Assert.That(one[0], Is.EqualTo(0xBB));
        _bus.Read(0x300F, one);
        Assert.That(one[0], Is.EqualTo(0xCC));
        Assert.That(a.Accesses.Single().Offset, Is.EqualTo(0xFFFUL), "the device sees offsets relative to its base");
    }

    [Test]
    public void RangeAtTopOfAddressSpace_CanBeRegisteredAndRead()
    {
        var d = new RecordingDevice(0x11);
        _bus.Add(ulong.MaxValue - 0xFFF, 0x1000, d, "top");
        Span<byte> b = stackalloc byte[8];
        _bus.Read(ulong.MaxValue - 7, b);
        Assert.That(b.ToArray(), Is.All.EqualTo(0x11));
    }

    [Test]
    public void TryAdd_ZeroLengthOrWrapping_IsRefused()
    {
        Assert.That(_bus.TryAdd(0x1000, 0, new RecordingDevice(), "empty", out _), Is.False);
        Assert.That(_bus.TryAdd(ulong.MaxValue, 2, new RecordingDevice(), "wrap", out _), Is.False);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    [TestCase(8)]
    public void UnclaimedRead_ReturnsAllOnes_AndIsAGuestError(int width)
    {
        var data = new byte[width];
        _bus.Read(0xDEAD_0000, data);
        Assert.That(data, Is.All.EqualTo(0xFF));
        Assert.That(_bus.UnclaimedAccesses, Is.EqualTo(1));
        Assert.That(_errors.Count, Is.EqualTo(1));
        Assert.That(_errors.Contains("unclaimed"), Is.True);
    }

    [Test]
    public void UnclaimedWrite_IsDropped_AndIsAGuestError()
    {
        _bus.Write(0x42, [1, 2, 3, 4]);
        Assert.That(_errors.Count, Is.EqualTo(1));
    }

    [Test]
    public void MisalignedAccessInsideOneRange_GoesToTheDeviceWhole()
    {
        var d = new RecordingDevice();
        _bus.Add(0x1000, 0x100, d, "dev");
        _bus.Read(0x1003, new byte[4]);
        Assert.That(d.Accesses, Is.EqualTo(new[] { ("r", 3UL, 4) }));
        Assert.That(_errors.Count, Is.Zero);
    }

    [Test]
    public void AccessStraddlingRangeEnd_IsSplitIntoBytes_UnclaimedBytesReadFF()
    {
        var d = new RecordingDevice(0x77);
        _bus.Add(0x1000, 0x10, d, "dev");
        var data = new byte[4];
        _bus.Read(0x100E, data);
        Assert.That(data, Is.EqualTo(new byte[] { 0x77, 0x77, 0xFF, 0xFF }));
        Assert.That(d.Accesses, Is.EqualTo(new[] { ("r", 0xEUL, 1), ("r", 0xFUL, 1) }));
        Assert.That(_errors.Contains("straddles"), Is.True);
    }

    [Test]
    public void AccessStraddlingTwoDevices_ReachesEachWithOnlyItsBytes()
    {
        var a = new RecordingDevice(0x0A);
        var b = new RecordingDevice(0x0B);
        _bus.Add(0x1000, 0x10, a, "a");
        _bus.Add(0x1010, 0x10, b, "b");
        _bus.Write(0x100F, [1, 2]);
        Assert.That(a.Accesses, Is.EqualTo(new[] { ("w", 0xFUL, 1) }));
        Assert.That(b.Accesses, Is.EqualTo(new[] { ("w", 0x0UL, 1) }));
    }

    [Test]
    public void SixteenByteAccess_IsSplitIntoTwoQwords()
    {
        var d = new RecordingDevice();
        _bus.Add(0x1000, 0x100, d, "dev");
        _bus.Read(0x1000, new byte[16]);
        Assert.That(d.Accesses, Is.EqualTo(new[] { ("r", 0UL, 8), ("r", 8UL, 8) }));
    }

    [Test]
    public void Remove_ThenAccess_IsUnclaimed()
    {
        var d = new RecordingDevice();
        _bus.Add(0x1000, 0x100, d, "dev");
        Assert.That(_bus.Remove(0x1000, d), Is.True);
        Assert.That(_bus.IsClaimed(0x1000), Is.False);
        Assert.That(_bus.TryAdd(0x1000, 0x100, d, "again", out _), Is.True, "the range is free again");
    }

    [Test]
    public void PortBus_InOut_ZeroExtendAndReachDevice()
    {
        var ports = new PortIoBus(_errors);
        var d = new RecordingDevice(0x81);
        ports.Add(0x3F8, 8, d, "com1");
        Assert.That(ports.In(0x3F8, 1), Is.EqualTo(0x81u));
        Assert.That(ports.In(0x3FA, 2), Is.EqualTo(0x8181u));
        ports.Out(0x3F9, 1, 0x5);
        Assert.That(d.Accesses[^1], Is.EqualTo(("w", 1UL, 1)));
        Assert.That(ports.In(0x80, 4), Is.EqualTo(0xFFFF_FFFFu), "an unclaimed port reads all-ones");
    }

    [Test]
    public void PortBus_RangeBeyond64K_IsRefused()
    {
        var ports = new PortIoBus(_errors);
        Assert.That(ports.TryAdd(0xFFFE, 4, new RecordingDevice(), "past-end", out _), Is.False);
    }
}

public sealed class BusAllocationTests
{
    [Test]
    public void MmioDispatch_AllocatesNothing()
    {
        var bus = new MmioBus(new GuestErrorLog());
        for (int i = 0; i < 8; i++)
        {
            bus.Add(0x1000UL * (ulong)(i + 1), 0x1000, new RecordingDeviceNoLog(), $"d{i}");
        }

        Span<byte> data = stackalloc byte[8];
        for (int i = 0; i < 100; i++)
        {
            bus.Write(0x1000UL * (ulong)((i % 8) + 1), data[..4]);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            bus.Write(0x1000UL * (ulong)((i % 8) + 1) + 8, data[..4]);
            bus.Read(0x1000UL * (ulong)((i % 8) + 1) + 16, data);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    private sealed class RecordingDeviceNoLog : IMmioDevice
    {
        private ulong _last;

        public void Read(ulong offset, Span<byte> data) => data.Fill((byte)_last);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => _last = offset;
    }
}
