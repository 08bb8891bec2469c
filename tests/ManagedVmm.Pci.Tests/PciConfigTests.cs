using ManagedVmm.Core;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing;

namespace ManagedVmm.Pci.Tests;

public sealed class PciConfigTests
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
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    [Test]
    public void Identity_ReadsBackThroughEcam()
    {
        Assert.That(_bed.ConfigRead32(_bdf, PciConfig.VendorId), Is.EqualTo(0x5678_1234u));
        Assert.That(_bed.ConfigRead32(_bdf, PciConfig.RevisionId), Is.EqualTo(0x0B40_0002u));
        Assert.That(_bed.ConfigRead8(_bdf, PciConfig.InterruptPin), Is.EqualTo(1));
    }

    [TestCase(PciConfig.VendorId, 4)]
    [TestCase(PciConfig.RevisionId, 4)]
    [TestCase(PciConfig.SubsystemVendorId, 4)]
    [TestCase(PciConfig.CapabilitiesPointer, 1)]
    [TestCase(PciConfig.InterruptPin, 1)]
    [TestCase(0x100, 4)]
    public void ReadOnlyRegisters_IgnoreWrites(int offset, int width)
    {
        uint before = _bed.ConfigRead32(_bdf, offset & ~3);
        _bed.ConfigWrite32(_bdf, offset & ~3, 0xFFFF_FFFF);
        Assert.That(_bed.ConfigRead32(_bdf, offset & ~3) & Mask(offset, width), Is.EqualTo(before & Mask(offset, width)));
    }

    [Test]
    public void Command_OnlyImplementedBitsAreWritable()
    {
        _bed.ConfigWrite16(_bdf, PciConfig.Command, 0xFFFF);
        Assert.That(_bed.ConfigRead16(_bdf, PciConfig.Command), Is.EqualTo((ushort)PciCommand.Writable));
    }

    [Test]
    public void Status_ErrorBitsAreWriteOneToClear_CapListIsReadOnly()
    {
        _fn.Config.SetUInt16(PciConfig.Status, (ushort)(_fn.Config.GetUInt16(PciConfig.Status) | (ushort)(PciStatus.ReceivedMasterAbort | PciStatus.SignaledTargetAbort)));
        _bed.ConfigWrite16(_bdf, PciConfig.Status, (ushort)PciStatus.ReceivedMasterAbort);
        ushort status = _bed.ConfigRead16(_bdf, PciConfig.Status);
        Assert.That(status & (ushort)PciStatus.ReceivedMasterAbort, Is.Zero, "W1C bit cleared by writing 1");
        Assert.That(status & (ushort)PciStatus.SignaledTargetAbort, Is.Not.Zero, "other W1C bit kept (0 written)");
        Assert.That(status & (ushort)PciStatus.CapabilitiesList, Is.Not.Zero);
        _bed.ConfigWrite16(_bdf, PciConfig.Status, 0);
        Assert.That(_bed.ConfigRead16(_bdf, PciConfig.Status) & (ushort)PciStatus.CapabilitiesList, Is.Not.Zero);
    }

    [Test]
    public void InterruptLine_IsWritable()
    {
        _bed.ConfigWrite8(_bdf, PciConfig.InterruptLine, 0x0B);
        Assert.That(_bed.ConfigRead8(_bdf, PciConfig.InterruptLine), Is.EqualTo(0x0B));
    }

    [Test]
    public void Bar32_SizingProbe_ReadsSizeMaskAndTypeBits()
    {
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(0), 0xFFFF_FFFF);
        Assert.That(_bed.ConfigRead32(_bdf, PciConfig.BarOffset(0)), Is.EqualTo(0xFFFF_F000u));
    }

    [Test]
    public void Bar64_SizingProbe_BothHalves()
    {
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(2), 0xFFFF_FFFF);
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(3), 0xFFFF_FFFF);
        Assert.That(_bed.ConfigRead32(_bdf, PciConfig.BarOffset(2)), Is.EqualTo(0xFFFF_C000u | PciBarBits.Memory64 | PciBarBits.Prefetchable));
        Assert.That(_bed.ConfigRead32(_bdf, PciConfig.BarOffset(3)), Is.EqualTo(0xFFFF_FFFFu));
    }

    [Test]
    public void IoBar_SizingProbe()
    {
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(4), 0xFFFF_FFFF);
        Assert.That(_bed.ConfigRead32(_bdf, PciConfig.BarOffset(4)), Is.EqualTo(0x0000_FFE1u));
    }

    [TestCase(1)]
    [TestCase(5)]
    public void UnimplementedBar_ReadsZero_EvenAfterAllOnes(int bar)
    {
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(bar), 0xFFFF_FFFF);
        Assert.That(_bed.ConfigRead32(_bdf, PciConfig.BarOffset(bar)), Is.Zero);
    }

    [Test]
    public void CapabilityChain_WalksToMsixAndVendorCapability()
    {
        var caps = new List<byte>();
        int ptr = _bed.ConfigRead8(_bdf, PciConfig.CapabilitiesPointer);
        while (ptr != 0 && caps.Count < 48)
        {
            caps.Add(_bed.ConfigRead8(_bdf, ptr));
            ptr = _bed.ConfigRead8(_bdf, ptr + 1);
        }

        Assert.That(caps, Is.EqualTo(new[] { PciCapabilityId.MsiX, PciCapabilityId.VendorSpecific }));
        Assert.That(PciCapabilityList.Walk(_fn.Config).Select(c => c.Id), Is.EqualTo(caps));
    }

    [Test]
    public void EcamToAbsentFunction_ReadsAllOnes_AndWritesAreHarmless()
    {
        var absent = new Bdf(0, 9, 0);
        Assert.That(_bed.ConfigRead32(absent, 0), Is.EqualTo(0xFFFF_FFFFu));
        Assert.That(_bed.ConfigRead16(new Bdf(7, 0, 0), 0), Is.EqualTo(0xFFFF));
        _bed.ConfigWrite32(absent, PciConfig.Command, 0x7);
        Assert.That(_bed.ConfigRead32(absent, PciConfig.Command), Is.EqualTo(0xFFFF_FFFFu));
    }

    [Test]
    public void Cf8Cfc_AndEcam_ShowTheSameBytes()
    {
        for (int offset = 0; offset < 0x100; offset += 4)
        {
            _bed.OutL(0xCF8, 0x8000_0000u | ((uint)_bdf.RequesterId << 8) | (uint)offset);
            Assert.That(_bed.InL(0xCFC), Is.EqualTo(_bed.ConfigRead32(_bdf, offset)), $"offset 0x{offset:x}");
        }

        _bed.OutL(0xCF8, 0x8000_0000u | ((uint)_bdf.RequesterId << 8) | PciConfig.InterruptLine);
        _bed.OutB(0xCFC, 0x0A);
        Assert.That(_bed.ConfigRead8(_bdf, PciConfig.InterruptLine), Is.EqualTo(0x0A));
        _bed.OutL(0xCF8, 0x8000_0000u | ((uint)_bdf.RequesterId << 8) | 0x08);
        Assert.That(_bed.InB(0xCFE), Is.EqualTo(0x40), "byte 2 of dword 0x08 through port 0xCFE");
        Assert.That(_bed.InW(0xCFE), Is.EqualTo(0x0B40));
    }

    [Test]
    public void Cf8WithoutEnableBit_ReadsAllOnes()
    {
        _bed.OutL(0xCF8, (uint)_bdf.RequesterId << 8);
        Assert.That(_bed.InL(0xCFC), Is.EqualTo(0xFFFF_FFFFu));
        Assert.That(_bed.InL(0xCF8), Is.EqualTo((uint)_bdf.RequesterId << 8), "the address register reads back");
    }

    [Test]
    public void Cf8ToAbsentFunction_ReadsAllOnes()
    {
        _bed.OutL(0xCF8, 0x8000_0000u | (0x1Fu << 11));
        Assert.That(_bed.InL(0xCFC), Is.EqualTo(0xFFFF_FFFFu));
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
            ulong ecam = QtestBase.EcamBase + ((ulong)_bdf.RequesterId << 12) + (ulong)(offset & 0xFFF);
            if (rng.Next(2) == 0)
            {
                _bed.Memory.TryWrite(ecam, data);
            }
            else
            {
                _bed.Memory.TryRead(ecam, data);
            }

            _bed.Ports.Write((ulong)(0xCF8 + rng.Next(0, 8)), data.AsSpan(0, Math.Min(width, 4)));
            _fn.WriteConfig(offset, data);
            _fn.ReadConfig(offset, data);
        }

        Assert.That(_bed.ConfigRead16(_bdf, PciConfig.VendorId), Is.EqualTo(0x1234), "identity survives the storm");
    }

    [Test]
    public void EcamAccessCrossingFunctionEnd_IsAGuestErrorAndReadsAllOnes()
    {
        var data = new byte[4];
        _bed.Memory.TryRead(QtestBase.EcamBase + ((ulong)_bdf.RequesterId << 12) + 0xFFE, data);
        Assert.That(data, Is.All.EqualTo(0xFF));
        Assert.That(_bed.GuestErrors.Contains("crosses"), Is.True);
    }

    private static uint Mask(int offset, int width) =>
        (width == 4 ? 0xFFFF_FFFFu : ((1u << (8 * width)) - 1)) << (8 * (offset & 3));
}
