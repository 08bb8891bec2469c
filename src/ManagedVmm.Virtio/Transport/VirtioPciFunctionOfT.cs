using Microsoft.Extensions.Options;

namespace ManagedVmm.Virtio.Transport;

/// <summary>
/// The virtio-pci function the container builds for device type <typeparamref name="TDevice"/>; one closed
/// type per device type lets the machine resolve each as its own <see cref="Pci.PciFunction"/>.
/// </summary>
public sealed class VirtioPciFunction<TDevice> : VirtioPciFunction
    where TDevice : class, IVirtioDevice
{
    public VirtioPciFunction(TDevice device, IOptionsMonitor<VirtioPciOptions> options)
        : base(device, options.Get(VirtioPciOptions.NameFor<TDevice>()))
    {
    }
}
