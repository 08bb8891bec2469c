using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Machine;
using ManagedVmm.Pci;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Machine.Tests;

public sealed class MachineBuilderTests
{
    private sealed class SlotFunction(string name, ushort deviceId) : PciFunction(name, new PciIdentity(0x1AF4, deviceId, 0xFF_00_00, 1))
    {
        public static SlotFunction Create(string name, int? slot, ushort id) => new(name, id) { PreferredDevice = slot };
    }

    [Test]
    public void DefaultMachine_HasHostBridgeAt0000_VisibleThroughEcamAndCf8()
    {
        using var h = MachineHarness.Create();
        var bridge = new Bdf(0, 0, 0);
        Assert.That(h.ConfigRead32(bridge, PciConfig.VendorId), Is.EqualTo(0x29C0_8086u));
        Assert.That(h.ConfigRead32(bridge, PciConfig.RevisionId) >> 8, Is.EqualTo(0x06_00_00u));
        h.OutL(0xCF8, 0x8000_0000);
        Assert.That(h.InL(0xCFC), Is.EqualTo(0x29C0_8086u));
    }

    [Test]
    public void Functions_ArePlacedAtPreferredSlot_ThenNextFree_InRegistrationOrder()
    {
        using var h = MachineHarness.Create(s =>
        {
            s.AddSingleton<PciFunction>(SlotFunction.Create("a", null, 1));
            s.AddSingleton<PciFunction>(SlotFunction.Create("b", 1, 2));
            s.AddSingleton<PciFunction>(SlotFunction.Create("c", null, 3));
        });
        var placed = h.Machine.Pci.Functions.Select(f => (f.Address.Device, f.Name)).ToList();
        Assert.That(placed, Is.EqualTo(new[] { (0, "host-bridge"), (1, "b"), (2, "a"), (3, "c") }));
    }

    [Test]
    public void TwoFunctionsAskingForOneSlot_IsAClearHostError()
    {
        var ex = Assert.Throws<BusRangeConflictException>(() => MachineHarness.Create(s =>
        {
            s.AddSingleton<PciFunction>(SlotFunction.Create("first", 4, 1));
            s.AddSingleton<PciFunction>(SlotFunction.Create("second", 4, 2));
        }));
        Assert.That(ex!.Message, Does.Contain("first").And.Contain("second"));
    }

    [Test]
    public void SlotOutOfRange_IsAConfigurationError()
    {
        Assert.Throws<MachineConfigurationException>(() => MachineHarness.Create(s => s.AddSingleton<PciFunction>(SlotFunction.Create("x", 40, 1))));
    }

    [Test]
    public void DeviceRegisteringAnOverlappingRange_FailsTheBuild_WithBothNames()
    {
        var ex = Assert.Throws<BusRangeConflictException>(() => MachineHarness.Create(s =>
            s.AddSingleton(new PortIoRegistration(0xCFA, 4, new NullPorts(), "rogue"))));
        Assert.That(ex!.Message, Does.Contain("rogue").And.Contain("pci-cf8"));
    }

    [TestCase(0UL)]
    [TestCase(1UL << 20)]
    [TestCase((64UL << 20) + 1)]
    public void InvalidMemorySize_IsAConfigurationError(ulong size)
    {
        var ex = Assert.Throws<MachineConfigurationException>(() => MachineHarness.Create(options: o => o.MemorySize = size));
        Assert.That(ex!.Message, Does.Contain("memory size"));
    }

    [Test]
    public void MemoryAbove0xB0000000_ContinuesAt4GiB()
    {
        using var h = MachineHarness.Create(options: o => o.MemorySize = 3UL << 30);
        Assert.That(h.Ram.Regions, Is.EqualTo(new[]
        {
            new Core.Memory.RamRegion(0, 0xB000_0000),
            new Core.Memory.RamRegion(0x1_0000_0000, (3UL << 30) - 0xB000_0000),
        }));
        h.WriteL(0x1_0000_0000, 0x12345678);
        Assert.That(h.ReadL(0x1_0000_0000), Is.EqualTo(0x12345678u));
        Assert.That(h.ReadL(0xB000_0000), Is.EqualTo(0x29C0_8086u), "0xB0000000 is ECAM, not RAM");
    }

    [Test]
    public void FirmwareArea_IsReadOnlyToTheCpuView()
    {
        using var h = MachineHarness.Create();
        h.Ram.TryWrite(0xE0000, [1, 2, 3, 4]);
        h.WriteL(0xE0000, 0xFFFF_FFFF);
        Assert.That(h.ReadL(0xE0000), Is.EqualTo(0x0403_0201u));
        Assert.That(h.Machine.GuestErrors.Contains("read-only"), Is.True);
    }

    [Test]
    public void SystemReset_ReturnsFunctionsToPowerOnState()
    {
        using var h = MachineHarness.Create(s => s.AddSingleton<PciFunction>(SlotFunction.Create("a", null, 1)));
        var a = new Bdf(0, 1, 0);
        h.ConfigWrite16(a, PciConfig.Command, 0x6);
        h.Machine.Reset();
        Assert.That(h.ConfigRead16(a, PciConfig.Command), Is.Zero);
    }

    private sealed class NullPorts : IPortIoDevice
    {
        public void Read(ushort offset, Span<byte> data) => data.Clear();

        public void Write(ushort offset, ReadOnlySpan<byte> data)
        {
        }
    }
}
