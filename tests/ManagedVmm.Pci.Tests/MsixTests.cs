using ManagedVmm.Core;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing;

namespace ManagedVmm.Pci.Tests;

public sealed class MsixTests
{
    private const ulong Bar2 = 0xC001_0000;
    private const ulong Table = Bar2 + 0x2000;
    private const ulong Pba = Bar2 + 0x3000;

    private PciTestBed _bed = null!;
    private TestFunction _fn = null!;
    private Bdf _bdf;
    private int _control;

    [SetUp]
    public void SetUp()
    {
        _bed = new PciTestBed();
        _fn = new TestFunction();
        _bdf = _bed.Place(_fn, 3);
        _bed.ConfigWrite32(_bdf, PciConfig.BarOffset(2), (uint)Bar2);
        _bed.ConfigWrite16(_bdf, PciConfig.Command, (ushort)(PciCommand.MemorySpace | PciCommand.BusMaster));
        _control = _fn.MsixCap.CapabilityOffset + 2;
        for (int v = 0; v < 4; v++)
        {
            _bed.WriteQ(Table + (ulong)(16 * v), 0xFEE0_0000);
            _bed.WriteL(Table + (ulong)(16 * v) + 8, (uint)(0x30 + v));
        }
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    [Test]
    public void Capability_DescribesTableAndPba()
    {
        Assert.That(_bed.ConfigRead16(_bdf, _control) & 0x7FF, Is.EqualTo(3), "table size is N-1");
        Assert.That(_bed.ConfigRead32(_bdf, _control + 2), Is.EqualTo(0x2000u | 2));
        Assert.That(_bed.ConfigRead32(_bdf, _control + 6), Is.EqualTo(0x3000u | 2));
    }

    [Test]
    public void VectorsStartMasked_SoNotifySetsPendingOnly()
    {
        Enable();
        Assert.That(_bed.ReadL(Table + 12), Is.EqualTo(1u));
        Assert.That(_fn.MsixCap.Notify(1), Is.False);
        Assert.That(_bed.Msi.Count, Is.Zero);
        Assert.That(_bed.ReadQ(Pba), Is.EqualTo(0b10UL));
    }

    [Test]
    public void UnmaskingAPendingVector_DeliversItOnce_AndClearsPending()
    {
        Enable();
        _fn.MsixCap.Notify(1);
        _bed.WriteL(Table + 16 + 12, 0);
        Assert.That(_bed.Msi.Messages.Single().Message.Data, Is.EqualTo(0x31u));
        Assert.That(_bed.Msi.Messages.Single().Requester, Is.EqualTo(_bdf));
        Assert.That(_bed.ReadQ(Pba), Is.Zero);
    }

    [Test]
    public void UnmaskedVector_DeliversImmediately()
    {
        Enable();
        _bed.WriteL(Table + 12, 0);
        Assert.That(_fn.MsixCap.Notify(0), Is.True);
        Assert.That(_bed.Msi.Messages.Single().Message, Is.EqualTo(new Core.Interrupts.MsiMessage(0xFEE0_0000, 0x30)));
    }

    [Test]
    public void FunctionMask_HoldsEveryVector_UntilCleared()
    {
        Enable();
        _bed.WriteL(Table + 12, 0);
        _bed.WriteL(Table + 32 + 12, 0);
        _bed.ConfigWrite16(_bdf, _control, 0xC000);
        _fn.MsixCap.Notify(0);
        _fn.MsixCap.Notify(2);
        Assert.That(_bed.Msi.Count, Is.Zero);
        Assert.That(_bed.ReadQ(Pba), Is.EqualTo(0b101UL));
        _bed.ConfigWrite16(_bdf, _control, 0x8000);
        Assert.That(_bed.Msi.Messages.Select(m => m.Message.Data), Is.EqualTo(new[] { 0x30u, 0x32u }));
    }

    [Test]
    public void Disabled_NotifyDoesNothing()
    {
        _bed.WriteL(Table + 12, 0);
        Assert.That(_fn.MsixCap.Notify(0), Is.False);
        Assert.That(_bed.Msi.Count, Is.Zero);
        Assert.That(_bed.ReadQ(Pba), Is.Zero);
    }

    [Test]
    public void BadVectorNumber_IsAGuestError()
    {
        Enable();
        Assert.That(_fn.MsixCap.Notify(4), Is.False);
        Assert.That(_bed.GuestErrors.Contains("vector 4"), Is.True);
    }

    [Test]
    public void PbaIsReadOnly_AndVectorControlReservedBitsStayZero()
    {
        Enable();
        _fn.MsixCap.Notify(3);
        _bed.WriteQ(Pba, 0);
        Assert.That(_bed.ReadQ(Pba), Is.EqualTo(0b1000UL));
        _bed.WriteL(Table + 12, 0xFFFF_FFFE);
        Assert.That(_bed.ReadL(Table + 12), Is.Zero);
    }

    [Test]
    public void TableAccessBeyondEntries_ReadsZero()
    {
        Assert.That(_bed.ReadL(Table + 0x100), Is.Zero);
        _bed.WriteL(Table + 0x100, 5);
    }

    [Test]
    public void BusMasterOff_DropsTheMessage()
    {
        Enable();
        _bed.WriteL(Table + 12, 0);
        _bed.ConfigWrite16(_bdf, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        _fn.MsixCap.Notify(0);
        Assert.That(_bed.Msi.Count, Is.Zero);
        Assert.That(_bed.GuestErrors.Contains("bus mastering"), Is.True);
    }

    private void Enable() => _bed.ConfigWrite16(_bdf, _control, 0x8000);
}
