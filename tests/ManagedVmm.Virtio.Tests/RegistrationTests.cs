using ManagedVmm.Pci;
using ManagedVmm.Testing;
using ManagedVmm.Testing.Virtio;
using ManagedVmm.Virtio.Spec;
using ManagedVmm.Virtio.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Virtio.Tests;

public sealed class RegistrationTests
{
    [Test]
    public void AddVirtioPciDevice_RegistersOneFunctionCarryingTheDevice_WithPreferredSlot()
    {
        var services = new ServiceCollection();
        services.AddOptions();
        services.AddVirtioPciDevice<EchoDevice>(o => o.PreferredDevice = 5);
        using var sp = services.BuildServiceProvider();
        var functions = sp.GetServices<PciFunction>().ToList();
        Assert.That(functions, Has.Count.EqualTo(1));
        var f = (VirtioPciFunction)functions[0];
        Assert.That(f.PreferredDevice, Is.EqualTo(5));
        Assert.That(f.Device, Is.SameAs(sp.GetRequiredService<EchoDevice>()));
    }

    [Test]
    public void AddVirtioPciDevice_OnTheMachine_IsPlacedAtItsSlotAndWorks()
    {
        using var m = MachineHarness.Create(s => s.AddVirtioPciDevice<EchoDevice>(o => o.PreferredDevice = 6));
        var found = m.PciEnumerate().Single(f => f.VendorId == VirtioPciIds.VendorId);
        Assert.That(found.Address.Device, Is.EqualTo(6));
        Assert.That(found.DeviceId, Is.EqualTo(0x1040 + 63));

        var alloc = new GuestBufferAllocator(m.Ram, 0x20_0000);
        var driver = new VirtioPciDriver(m, alloc, found.Address);
        var vq = driver.Initialize(EchoBench.BaseFeatures | (1UL << EchoDevice.F_ECHO_UPPER), 2, msix: true)[0];
        DriverBuffer[] chain = [vq.Readable("abc"u8), vq.Writable(3)];
        vq.Add(chain);
        vq.Kick();
        Assert.That(vq.GetUsed().Length, Is.EqualTo(3));
        Assert.That(vq.WritableBytes(chain), Is.EqualTo("ABC"u8.ToArray()));
        Assert.That(m.Msi.CountVector(VirtioPciDriver.MsixData(0)), Is.EqualTo(1));
    }
}
