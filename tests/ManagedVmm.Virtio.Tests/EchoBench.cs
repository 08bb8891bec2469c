using ManagedVmm.Core;
using ManagedVmm.Testing;
using ManagedVmm.Testing.Virtio;
using ManagedVmm.Virtio.Spec;
using ManagedVmm.Virtio.Transport;

namespace ManagedVmm.Virtio.Tests;

/// <summary>An echo device behind virtio-pci at 00:03.0 on a PCI test bed, enumerated, with a test driver.</summary>
public sealed class EchoBench : IDisposable
{
    public const ulong BaseFeatures = (1UL << VirtioFeatures.VERSION_1);

    public EchoBench(int queues = 2, ushort queueSize = 16, ulong offered = EchoDevice.DefaultFeatures, int? msixVectors = null)
    {
        Bed = new PciTestBed();
        Device = new EchoDevice(queues, queueSize, offered);
        Function = new VirtioPciFunction(Device, new VirtioPciOptions { MsixVectors = msixVectors });
        Bdf = Bed.Place(Function, 3);
        Bed.PciEnumerate();
        Driver = new VirtioPciDriver(Bed, Bed.Alloc, Bdf);
    }

    public PciTestBed Bed { get; }

    public EchoDevice Device { get; }

    public VirtioPciFunction Function { get; }

    public Bdf Bdf { get; }

    public VirtioPciDriver Driver { get; }

    public long GuestErrors => Bed.GuestErrors.Count;

    /// <summary>Negotiates <paramref name="features"/>, sets up every queue and sets DRIVER_OK.</summary>
    public VirtqueueDriver[] Start(ulong features = BaseFeatures, bool msix = false) =>
        Driver.Initialize(features, Device.QueueCount, msix);

    /// <summary>Sends <paramref name="request"/> through queue 0 in one readable and one writable buffer; returns the used element and reply.</summary>
    public (UsedElement Used, byte[] Reply) Echo(VirtqueueDriver vq, byte[] request, uint replyLength, bool indirect = false)
    {
        DriverBuffer[] chain = [vq.Readable(request), vq.Writable(replyLength)];
        vq.Add(chain, indirect);
        vq.Kick();
        var used = vq.GetUsed();
        return (used, vq.WritableBytes(chain));
    }

    public void Dispose() => Bed.Dispose();
}
