using ManagedVmm.Core;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing;

namespace ManagedVmm.Pci.Tests;

public sealed class MsixTests : TestFunctionFixture
{
    private const ulong Bar2 = 0xC001_0000;
    private const ulong Table = Bar2 + 0x2000;
    private const ulong Pba = Bar2 + 0x3000;

    private int _control;

    [SetUp]
    public void EnableMsixBar()
    {
        Bed.ConfigWrite32(Address, PciConfig.BarOffset(2), (uint)Bar2);
        Bed.ConfigWrite16(Address, PciConfig.Command, (ushort)(PciCommand.MemorySpace | PciCommand.BusMaster));
        _control = Fn.MsixCap.CapabilityOffset + 2;
        for (int v = 0; v < 4; v++)
        {
            Bed.WriteQ(Table + (ulong)(16 * v), 0xFEE0_0000);
            Bed.WriteL(Table + (ulong)(16 * v) + 8, (uint)(0x30 + v));
        }
    }

    [Test]
    public void Capability_DescribesTableAndPba()
    {
        Assert.That(Bed.ConfigRead16(Address, _control) & 0x7FF, Is.EqualTo(3), "table size is N-1");
        Assert.That(Bed.ConfigRead32(Address, _control + 2), Is.EqualTo(0x2000u | 2));
        Assert.That(Bed.ConfigRead32(Address, _control + 6), Is.EqualTo(0x3000u | 2));
    }

    [Test]
    public void VectorsStartMasked_SoNotifySetsPendingOnly()
    {
        Enable();
        Assert.That(Bed.ReadL(Table + 12), Is.EqualTo(1u));
        Assert.That(Fn.MsixCap.Notify(1), Is.False);
        Assert.That(Bed.Msi.Count, Is.Zero);
        Assert.That(Bed.ReadQ(Pba), Is.EqualTo(0b10UL));
    }

    [Test]
    public void UnmaskingAPendingVector_DeliversItOnce_AndClearsPending()
    {
        Enable();
        Fn.MsixCap.Notify(1);
        Bed.WriteL(Table + 16 + 12, 0);
        Assert.That(Bed.Msi.Messages.Single().Message.Data, Is.EqualTo(0x31u));
        Assert.That(Bed.Msi.Messages.Single().Requester, Is.EqualTo(Address));
        Assert.That(Bed.ReadQ(Pba), Is.Zero);
    }

    [Test]
    public void UnmaskedVector_DeliversImmediately()
    {
        Enable();
        Bed.WriteL(Table + 12, 0);
        Assert.That(Fn.MsixCap.Notify(0), Is.True);
        Assert.That(Bed.Msi.Messages.Single().Message, Is.EqualTo(new Core.Interrupts.MsiMessage(0xFEE0_0000, 0x30)));
    }

    [Test]
    public void FunctionMask_HoldsEveryVector_UntilCleared()
    {
        Enable();
        Bed.WriteL(Table + 12, 0);
        Bed.WriteL(Table + 32 + 12, 0);
        Bed.ConfigWrite16(Address, _control, 0xC000);
        Fn.MsixCap.Notify(0);
        Fn.MsixCap.Notify(2);
        Assert.That(Bed.Msi.Count, Is.Zero);
        Assert.That(Bed.ReadQ(Pba), Is.EqualTo(0b101UL));
        Bed.ConfigWrite16(Address, _control, 0x8000);
        Assert.That(Bed.Msi.Messages.Select(m => m.Message.Data), Is.EqualTo(new[] { 0x30u, 0x32u }));
    }

    [Test]
    public void Disabled_NotifyDoesNothing()
    {
        Bed.WriteL(Table + 12, 0);
        Assert.That(Fn.MsixCap.Notify(0), Is.False);
        Assert.That(Bed.Msi.Count, Is.Zero);
        Assert.That(Bed.ReadQ(Pba), Is.Zero);
    }

    [Test]
    public void BadVectorNumber_IsAGuestError()
    {
        Enable();
        Assert.That(Fn.MsixCap.Notify(4), Is.False);
        Assert.That(Bed.GuestErrors.Contains("vector 4"), Is.True);
    }

    [Test]
    public void PbaIsReadOnly_AndVectorControlReservedBitsStayZero()
    {
        Enable();
        Fn.MsixCap.Notify(3);
        Bed.WriteQ(Pba, 0);
        Assert.That(Bed.ReadQ(Pba), Is.EqualTo(0b1000UL));
        Bed.WriteL(Table + 12, 0xFFFF_FFFE);
        Assert.That(Bed.ReadL(Table + 12), Is.Zero);
    }

    [Test]
    public void TableAccessBeyondEntries_ReadsZero()
    {
        Assert.That(Bed.ReadL(Table + 0x100), Is.Zero);
        Bed.WriteL(Table + 0x100, 5);
    }

    [Test]
    public void BusMasterOff_DropsTheMessage()
    {
        Enable();
        Bed.WriteL(Table + 12, 0);
        Bed.ConfigWrite16(Address, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        Fn.MsixCap.Notify(0);
        Assert.That(Bed.Msi.Count, Is.Zero);
        Assert.That(Bed.GuestErrors.Contains("bus mastering"), Is.True);
    }

    private void Enable() => Bed.ConfigWrite16(Address, _control, 0x8000);
}
