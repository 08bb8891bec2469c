using ManagedVmm.Core;
using ManagedVmm.Core.Memory;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing;

namespace ManagedVmm.Pci.Tests;

public sealed class PciDecodeTests : TestFunctionFixture
{

    [SetUp]
    public void ConfigureBars()
    {
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(0), 0xC000_0000);
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(2), 0x0000_0000);
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(3), 0x0000_0001);
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(4), 0xC040);
    }

    [Test]
    public void MemoryBars_AreNotDecoded_UntilMemorySpaceEnabled()
    {
        Fn.Registers.Bytes[0] = 0x42;
        Assert.That(Bed.ReadB(0xC000_0000), Is.EqualTo(0xFF));
        Bed.ConfigWrite16(Address, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        Assert.That(Bed.ReadB(0xC000_0000), Is.EqualTo(0x42));
        Assert.That(Fn.Bars[2]!.MappedAt, Is.EqualTo(0x1_0000_0000UL), "the 64-bit BAR decodes above 4 GiB");
        Assert.That(Bed.InB(0xC040), Is.EqualTo(0xFF), "I/O decode is separate");
        Bed.ConfigWrite16(Address, PciConfig.Command, 0);
        Assert.That(Bed.ReadB(0xC000_0000), Is.EqualTo(0xFF));
    }

    [Test]
    public void IoBar_DecodesWhenIoSpaceEnabled()
    {
        Fn.Registers.Bytes[3] = 0x99;
        Bed.ConfigWrite16(Address, PciConfig.Command, (ushort)PciCommand.IoSpace);
        Assert.That(Bed.InB(0xC043), Is.EqualTo(0x99));
    }

    [Test]
    public void MovingABar_RemapsTheWindow()
    {
        Fn.Registers.Bytes[0] = 0x42;
        Bed.ConfigWrite16(Address, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(0), 0xD000_0000);
        Assert.That(Bed.ReadB(0xD000_0000), Is.EqualTo(0x42));
        Assert.That(Bed.ReadB(0xC000_0000), Is.EqualTo(0xFF), "the old window is gone");
    }

    [Test]
    public void BarPlacedOverAnotherRange_IsNotDecoded_AndIsAGuestError()
    {
        Bed.ConfigWrite16(Address, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(0), (uint)QtestBase.EcamBase);
        Assert.That(Fn.Bars[0]!.MappedAt, Is.Null);
        Assert.That(Bed.GuestErrors.Contains("overlaps"), Is.True);
        Assert.That(Bed.ConfigRead16(Address, PciConfig.VendorId), Is.EqualTo(0x1234), "ECAM still works");
    }

    [Test]
    public void AnyBarValue_NeverThrows()
    {
        Bed.ConfigWrite16(Address, PciConfig.Command, (ushort)(PciCommand.MemorySpace | PciCommand.IoSpace));
        var rng = new Random(99);
        for (int i = 0; i < 5000; i++)
        {
            int bar = rng.Next(0, 6);
            Bed.ConfigWrite32(Address, PciConfig.BarOffset(bar), (uint)rng.NextInt64(0, 1L << 32));
        }

        Bed.ConfigWrite32(Address, PciConfig.BarOffset(2), 0xFFFF_FFFF);
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(3), 0xFFFF_FFFF);
        Assert.That(Fn.Bars[2]!.MappedAt, Is.EqualTo(0xFFFF_FFFF_FFFF_C000UL), "a BAR at the very top of memory is decoded");
    }

    [Test]
    public void BusMasterOff_BlocksDma_On_AllowsIt()
    {
        Assert.That(Fn.DmaWrite(0x1000, 0xABCD), Is.False);
        Assert.That(Bed.Ram.TryReadUInt32(0x1000, out uint v) && v == 0, Is.True, "nothing reached RAM");
        Assert.That(Bed.GuestErrors.Contains("bus mastering"), Is.True);
        Bed.ConfigWrite16(Address, PciConfig.Command, (ushort)PciCommand.BusMaster);
        Assert.That(Fn.DmaWrite(0x1000, 0xABCD), Is.True);
        Assert.That(Bed.Ram.TryReadUInt32(0x1000, out v) && v == 0xABCD, Is.True);
    }

    [Test]
    public void SystemReset_RestoresPowerOnConfig_AndUnmapsBars()
    {
        Bed.ConfigWrite16(Address, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        Fn.Reset(ResetKind.System);
        Assert.That(Bed.ConfigRead16(Address, PciConfig.Command), Is.Zero);
        Assert.That(Bed.ConfigRead32(Address, PciConfig.BarOffset(0)), Is.Zero);
        Assert.That(Fn.Bars[0]!.MappedAt, Is.Null);
    }

    [Test]
    public void Enumeration_AssignsEveryBarInsideTheWindow_Aligned()
    {
        var found = Bed.PciEnumerate().Single();
        Assert.That(found.Address, Is.EqualTo(Address));
        Assert.That(found.BarSizes[0], Is.EqualTo(0x1000UL));
        Assert.That(found.BarSizes[2], Is.EqualTo(0x4000UL));
        Assert.That(found.BarSizes[4], Is.EqualTo(32UL));
        foreach (int bar in new[] { 0, 2 })
        {
            Assert.That(found.BarAddresses[bar] % found.BarSizes[bar], Is.Zero);
            Assert.That(Fn.Bars[bar]!.MappedAt, Is.EqualTo(found.BarAddresses[bar]));
        }
    }
}
