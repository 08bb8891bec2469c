using ManagedVmm.Core;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing;

namespace ManagedVmm.Pci.Tests;

public sealed class PciConfigTests : TestFunctionFixture
{

    [Test]
    public void Identity_ReadsBackThroughEcam()
    {
        Assert.That(Bed.ConfigRead32(Address, PciConfig.VendorId), Is.EqualTo(0x5678_1234u));
        Assert.That(Bed.ConfigRead32(Address, PciConfig.RevisionId), Is.EqualTo(0x0B40_0002u));
        Assert.That(Bed.ConfigRead8(Address, PciConfig.InterruptPin), Is.EqualTo(1));
    }

    [TestCase(PciConfig.VendorId, 4)]
    [TestCase(PciConfig.RevisionId, 4)]
    [TestCase(PciConfig.SubsystemVendorId, 4)]
    [TestCase(PciConfig.CapabilitiesPointer, 1)]
    [TestCase(PciConfig.InterruptPin, 1)]
    [TestCase(0x100, 4)]
    public void ReadOnlyRegisters_IgnoreWrites(int offset, int width)
    {
        uint before = Bed.ConfigRead32(Address, offset & ~3);
        Bed.ConfigWrite32(Address, offset & ~3, 0xFFFF_FFFF);
        Assert.That(Bed.ConfigRead32(Address, offset & ~3) & Mask(offset, width), Is.EqualTo(before & Mask(offset, width)));
    }

    [Test]
    public void Command_OnlyImplementedBitsAreWritable()
    {
        Bed.ConfigWrite16(Address, PciConfig.Command, 0xFFFF);
        Assert.That(Bed.ConfigRead16(Address, PciConfig.Command), Is.EqualTo((ushort)PciCommand.Writable));
    }

    [Test]
    public void Status_ErrorBitsAreWriteOneToClear_CapListIsReadOnly()
    {
        Fn.Config.SetUInt16(PciConfig.Status, (ushort)(Fn.Config.GetUInt16(PciConfig.Status) | (ushort)(PciStatus.ReceivedMasterAbort | PciStatus.SignaledTargetAbort)));
        Bed.ConfigWrite16(Address, PciConfig.Status, (ushort)PciStatus.ReceivedMasterAbort);
        ushort status = Bed.ConfigRead16(Address, PciConfig.Status);
        Assert.That(status & (ushort)PciStatus.ReceivedMasterAbort, Is.Zero, "W1C bit cleared by writing 1");
        Assert.That(status & (ushort)PciStatus.SignaledTargetAbort, Is.Not.Zero, "other W1C bit kept (0 written)");
        Assert.That(status & (ushort)PciStatus.CapabilitiesList, Is.Not.Zero);
        Bed.ConfigWrite16(Address, PciConfig.Status, 0);
        Assert.That(Bed.ConfigRead16(Address, PciConfig.Status) & (ushort)PciStatus.CapabilitiesList, Is.Not.Zero);
    }

    [Test]
    public void InterruptLine_IsWritable()
    {
        Bed.ConfigWrite8(Address, PciConfig.InterruptLine, 0x0B);
        Assert.That(Bed.ConfigRead8(Address, PciConfig.InterruptLine), Is.EqualTo(0x0B));
    }

    [Test]
    public void Bar32_SizingProbe_ReadsSizeMaskAndTypeBits()
    {
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(0), 0xFFFF_FFFF);
        Assert.That(Bed.ConfigRead32(Address, PciConfig.BarOffset(0)), Is.EqualTo(0xFFFF_F000u));
    }

    [Test]
    public void Bar64_SizingProbe_BothHalves()
    {
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(2), 0xFFFF_FFFF);
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(3), 0xFFFF_FFFF);
        Assert.That(Bed.ConfigRead32(Address, PciConfig.BarOffset(2)), Is.EqualTo(0xFFFF_C000u | PciBarBits.Memory64 | PciBarBits.Prefetchable));
        Assert.That(Bed.ConfigRead32(Address, PciConfig.BarOffset(3)), Is.EqualTo(0xFFFF_FFFFu));
    }

    [Test]
    public void IoBar_SizingProbe()
    {
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(4), 0xFFFF_FFFF);
        Assert.That(Bed.ConfigRead32(Address, PciConfig.BarOffset(4)), Is.EqualTo(0x0000_FFE1u));
    }

    [TestCase(1)]
    [TestCase(5)]
    public void UnimplementedBar_ReadsZero_EvenAfterAllOnes(int bar)
    {
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(bar), 0xFFFF_FFFF);
        Assert.That(Bed.ConfigRead32(Address, PciConfig.BarOffset(bar)), Is.Zero);
    }

    [Test]
    public void CapabilityChain_WalksToMsixAndVendorCapability()
    {
        var caps = new List<byte>();
        int ptr = Bed.ConfigRead8(Address, PciConfig.CapabilitiesPointer);
        while (ptr != 0 && caps.Count < 48)
        {
            caps.Add(Bed.ConfigRead8(Address, ptr));
            ptr = Bed.ConfigRead8(Address, ptr + 1);
        }

        Assert.That(caps, Is.EqualTo(new[] { PciCapabilityId.MsiX, PciCapabilityId.VendorSpecific }));
        Assert.That(PciCapabilityList.Walk(Fn.Config).Select(c => c.Id), Is.EqualTo(caps));
    }

    [Test]
    public void EcamToAbsentFunction_ReadsAllOnes_AndWritesAreHarmless()
    {
        var absent = new Bdf(0, 9, 0);
        Assert.That(Bed.ConfigRead32(absent, 0), Is.EqualTo(0xFFFF_FFFFu));
        Assert.That(Bed.ConfigRead16(new Bdf(7, 0, 0), 0), Is.EqualTo(0xFFFF));
        Bed.ConfigWrite32(absent, PciConfig.Command, 0x7);
        Assert.That(Bed.ConfigRead32(absent, PciConfig.Command), Is.EqualTo(0xFFFF_FFFFu));
    }

    [Test]
    public void Cf8Cfc_AndEcam_ShowTheSameBytes()
    {
        for (int offset = 0; offset < 0x100; offset += 4)
        {
            Bed.OutL(0xCF8, 0x8000_0000u | ((uint)Address.RequesterId << 8) | (uint)offset);
            Assert.That(Bed.InL(0xCFC), Is.EqualTo(Bed.ConfigRead32(Address, offset)), $"offset 0x{offset:x}");
        }

        Bed.OutL(0xCF8, 0x8000_0000u | ((uint)Address.RequesterId << 8) | PciConfig.InterruptLine);
        Bed.OutB(0xCFC, 0x0A);
        Assert.That(Bed.ConfigRead8(Address, PciConfig.InterruptLine), Is.EqualTo(0x0A));
        Bed.OutL(0xCF8, 0x8000_0000u | ((uint)Address.RequesterId << 8) | 0x08);
        Assert.That(Bed.InB(0xCFE), Is.EqualTo(0x40), "byte 2 of dword 0x08 through port 0xCFE");
        Assert.That(Bed.InW(0xCFE), Is.EqualTo(0x0B40));
    }

    [Test]
    public void Cf8WithoutEnableBit_ReadsAllOnes()
    {
        Bed.OutL(0xCF8, (uint)Address.RequesterId << 8);
        Assert.That(Bed.InL(0xCFC), Is.EqualTo(0xFFFF_FFFFu));
        Assert.That(Bed.InL(0xCF8), Is.EqualTo((uint)Address.RequesterId << 8), "the address register reads back");
    }

    [Test]
    public void Cf8ToAbsentFunction_ReadsAllOnes()
    {
        Bed.OutL(0xCF8, 0x8000_0000u | (0x1Fu << 11));
        Assert.That(Bed.InL(0xCFC), Is.EqualTo(0xFFFF_FFFFu));
    }

    [Test]
    public void AnyOffsetAndWidth_NeverThrows()
    {
        var rng = new Random(1234);
        for (int i = 0; i < 20000; i++)
        {
            int offset = rng.Next(-8, 4200);
            int width = rng.Next(0, 9);
            var data = new byte[width];
            rng.NextBytes(data);
            ulong ecam = QtestBase.EcamBase + ((ulong)Address.RequesterId << 12) + (ulong)(offset & 0xFFF);
            if (rng.Next(2) == 0)
            {
                Bed.Memory.TryWrite(ecam, data);
            }
            else
            {
                Bed.Memory.TryRead(ecam, data);
            }

            Bed.Ports.Write((ulong)(0xCF8 + rng.Next(0, 8)), data.AsSpan(0, Math.Min(width, 4)));
            Fn.WriteConfig(offset, data);
            Fn.ReadConfig(offset, data);
        }

        Assert.That(Bed.ConfigRead16(Address, PciConfig.VendorId), Is.EqualTo(0x1234), "identity survives the storm");
    }

    [Test]
    public void EcamAccessCrossingFunctionEnd_IsAGuestErrorAndReadsAllOnes()
    {
        var data = new byte[4];
        Bed.Memory.TryRead(QtestBase.EcamBase + ((ulong)Address.RequesterId << 12) + 0xFFE, data);
        Assert.That(data, Is.All.EqualTo(0xFF));
        Assert.That(Bed.GuestErrors.Contains("crosses"), Is.True);
    }

    private static uint Mask(int offset, int width) =>
        (width == 4 ? 0xFFFF_FFFFu : ((1u << (8 * width)) - 1)) << (8 * (offset & 3));
}
