using ManagedVmm.Core;
using ManagedVmm.Core.Memory;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing;

namespace ManagedVmm.Pci.Tests;

public sealed class PciDecodeTests
{
    private PciTestBed _bed = null!;
    private TestFunction _fn = null!;
    private Bdf _bdf;

    [SetUp]
    public void SetUp()
    {
        _bed = new PciTestBed();
        _fn = new TestFunction();
        _bdf = _bed.Place(_fn, 3);
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(0), 0xC000_0000);
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(2), 0x0000_0000);
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(3), 0x0000_0001);
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(4), 0xC040);
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    [Test]
    public void MemoryBars_AreNotDecoded_UntilMemorySpaceEnabled()
    {
        _fn.Registers.Bytes[0] = 0x42;
        Assert.That(_bed.ReadB(0xC000_0000), Is.EqualTo(0xFF));
        _bed.ConfigWrite16(_bdf, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        Assert.That(_bed.ReadB(0xC000_0000), Is.EqualTo(0x42));
        Assert.That(_fn.Bars[2]!.MappedAt, Is.EqualTo(0x1_0000_0000UL), "the 64-bit BAR decodes above 4 GiB");
        Assert.That(_bed.InB(0xC040), Is.EqualTo(0xFF), "I/O decode is separate");
        _bed.ConfigWrite16(_bdf, PciConfig.Command, 0);
        Assert.That(_bed.ReadB(0xC000_0000), Is.EqualTo(0xFF));
    }

    [Test]
    public void IoBar_DecodesWhenIoSpaceEnabled()
    {
        _fn.Registers.Bytes[3] = 0x99;
        _bed.ConfigWrite16(_bdf, PciConfig.Command, (ushort)PciCommand.IoSpace);
        Assert.That(_bed.InB(0xC043), Is.EqualTo(0x99));
    }

    [Test]
    public void MovingABar_RemapsTheWindow()
    {
        _fn.Registers.Bytes[0] = 0x42;
        _bed.ConfigWrite16(_bdf, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(0), 0xD000_0000);
        Assert.That(_bed.ReadB(0xD000_0000), Is.EqualTo(0x42));
        Assert.That(_bed.ReadB(0xC000_0000), Is.EqualTo(0xFF), "the old window is gone");
    }

    [Test]
    public void BarPlacedOverAnotherRange_IsNotDecoded_AndIsAGuestError()
    {
        _bed.ConfigWrite16(_bdf, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(0), (uint)QtestBase.EcamBase);
        Assert.That(_fn.Bars[0]!.MappedAt, Is.Null);
        Assert.That(_bed.GuestErrors.Contains("overlaps"), Is.True);
        Assert.That(_bed.ConfigRead16(_bdf, PciConfig.VendorId), Is.EqualTo(0x1234), "ECAM still works");
    }

    [Test]
    public void AnyBarValue_NeverThrows()
    {
        _bed.ConfigWrite16(_bdf, PciConfig.Command, (ushort)(PciCommand.MemorySpace | PciCommand.IoSpace));
        var rng = new Random(99);
        for (int i = 0; i < 5000; i++)
        {
            int bar = rng.Next(0, 6);
            _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(bar), (uint)rng.NextInt64(0, 1L << 32));
        }

        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(2), 0xFFFF_FFFF);
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(3), 0xFFFF_FFFF);
        Assert.That(_fn.Bars[2]!.MappedAt, Is.EqualTo(0xFFFF_FFFF_FFFF_C000UL), "a BAR at the very top of memory is decoded");
    }

    [Test]
    public void BusMasterOff_BlocksDma_On_AllowsIt()
    {
        Assert.That(_fn.DmaWrite(0x1000, 0xABCD), Is.False);
        Assert.That(_bed.Ram.TryReadUInt32(0x1000, out uint v) && v == 0, Is.True, "nothing reached RAM");
        Assert.That(_bed.GuestErrors.Contains("bus mastering"), Is.True);
        _bed.ConfigWrite16(_bdf, PciConfig.Command, (ushort)PciCommand.BusMaster);
        Assert.That(_fn.DmaWrite(0x1000, 0xABCD), Is.True);
        Assert.That(_bed.Ram.TryReadUInt32(0x1000, out v) && v == 0xABCD, Is.True);
    }

    [Test]
    public void SystemReset_RestoresPowerOnConfig_AndUnmapsBars()
    {
        _bed.ConfigWrite16(_bdf, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        _fn.Reset(ResetKind.System);
        Assert.That(_bed.ConfigRead16(_bdf, PciConfig.Command), Is.Zero);
        Assert.That(_bed.ConfigRead32(_bdf, PciConfig.BarOffset(0)), Is.Zero);
        Assert.That(_fn.Bars[0]!.MappedAt, Is.Null);
    }

    [Test]
    public void Enumeration_AssignsEveryBarInsideTheWindow_Aligned()
    {
        var found = _bed.PciEnumerate().Single();
        Assert.That(found.Address, Is.EqualTo(_bdf));
        Assert.That(found.BarSizes[0], Is.EqualTo(0x1000UL));
        Assert.That(found.BarSizes[2], Is.EqualTo(0x4000UL));
        Assert.That(found.BarSizes[4], Is.EqualTo(32UL));
        foreach (int bar in new[] { 0, 2 })
        {
            Assert.That(found.BarAddresses[bar] % found.BarSizes[bar], Is.Zero);
            Assert.That(_fn.Bars[bar]!.MappedAt, Is.EqualTo(found.BarAddresses[bar]));
        }
    }
}
