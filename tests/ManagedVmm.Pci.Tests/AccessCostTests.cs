using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Core.Memory;
using ManagedVmm.Core.Time;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing;

namespace ManagedVmm.Pci.Tests;

/// <summary>
/// The cost model's BAR access charge: each guest access to a function's memory BAR advances the virtual clock by
/// the function's <see cref="PciFunction.AccessCostNs"/> (an exit, or a plain MMIO), and a zero cost changes nothing.
/// </summary>
public sealed class AccessCostTests
{
    private const ulong Bar0 = 0xC000_0000;

    private static (PciTestBed Bed, TestFunction Fn) Bed(long costNs, bool chargingBus = true)
    {
        var bed = chargingBus ? new PciTestBed(new EventScheduler()) : new PciTestBed();
        var fn = new TestFunction { AccessCostNs = costNs };
        var bdf = bed.Place(fn, 3);
        bed.ConfigWrite32(bdf, PciConfig.BarOffset(0), (uint)Bar0);
        bed.ConfigWrite16(bdf, PciConfig.Command, (ushort)PciCommand.MemorySpace);
        return (bed, fn);
    }

    [TestCase(4_000L, TestName = "EachAccess_AdvancesTheClockByAnExit")]
    [TestCase(150L, TestName = "EachAccess_AdvancesTheClockByAPlainMmio")]
    public void EachAccess_AdvancesTheClockByTheCost(long cost)
    {
        var (bed, fn) = Bed(cost);
        using var _ = bed;
        long before = bed.Scheduler.Now;

        bed.WriteL(Bar0 + 8, 0x1234_5678);
        uint read = bed.ReadL(Bar0 + 8);

        Assert.That(read, Is.EqualTo(0x1234_5678u), "the access still reaches the device");
        Assert.That(bed.Scheduler.Now - before, Is.EqualTo(2 * cost));
        Assert.That(fn.Registers.Bytes[8], Is.EqualTo(0x78));
    }

    [Test]
    public void ZeroCost_MapsTheDeviceHandlerItself_AndTheClockStands()
    {
        var (bed, fn) = Bed(0);
        using var _ = bed;
        bed.WriteL(Bar0, 1);
        Assert.That(bed.Scheduler.Now, Is.Zero);
        Assert.That(fn.Bars[0]!.MappedMemoryHandler, Is.SameAs(fn.Registers), "no decorator without a cost");
    }

    [Test]
    public void BusWithoutAClock_ChargesNothing()
    {
        var (bed, _) = Bed(4_000, chargingBus: false);
        using var __ = bed;
        bed.WriteL(Bar0, 1);
        Assert.That(bed.Scheduler.Now, Is.Zero);
    }

    [Test]
    public void ChangingTheCost_RemapsTheWindow_AndUnmapStillWorks()
    {
        var (bed, fn) = Bed(0);
        using var _ = bed;
        fn.AccessCostNs = 500;
        bed.WriteL(Bar0, 1);
        Assert.That(bed.Scheduler.Now, Is.EqualTo(500));

        bed.ConfigWrite16(fn.Address, PciConfig.Command, 0);
        Assert.That(fn.Bars[0]!.MappedAt, Is.Null);
        Assert.That(bed.ReadL(Bar0), Is.EqualTo(0xFFFF_FFFFu), "the charged window was removed from the bus");
    }

    [Test]
    public void AccessCosts_ByFunctionName_PassthroughVsEmulated()
    {
        var log = new GuestErrorLog();
        using var ram = new GuestRam([new RamRegion(0, 1 << 20)]);
        var costs = new PciAccessCosts { EmulatedNs = 4_000, PassthroughNs = 150, PassthroughFunctions = new HashSet<string> { "test" } };
        var bus = new PciBus(new MmioBus(log), new PortIoBus(log), new DmaMemoryProvider(ram, []), new NoMsi(), log, new EventScheduler(), costs);
        var passedThrough = new TestFunction();
        var emulated = new OtherFunction();
        bus.Place(passedThrough, 3);
        bus.Place(emulated, 4);
        Assert.That((passedThrough.AccessCostNs, emulated.AccessCostNs), Is.EqualTo((150L, 4_000L)));
    }

    [Test]
    public void NegativeCost_IsRefused() => Assert.Throws<ArgumentException>(() => new TestFunction { AccessCostNs = -1 });

    private sealed class OtherFunction() : PciFunction("other", new PciIdentity(0x1234, 0x0002, 0x0B_40_00, 1, 0x1234, 1));

    private sealed class NoMsi : IMsiSink
    {
        public void Signal(Bdf requester, MsiMessage message)
        {
        }
    }
}
