using ManagedVmm.Pci;
using ManagedVmm.Virtio.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Virtio;

/// <summary>Registration of virtio devices behind the virtio-pci transport.</summary>
public static class VirtioServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TDevice"/> (a singleton, unless the plugin registered it already) behind a
    /// virtio-pci function that the machine places on bus 0. Returns the transport options builder, so a plugin
    /// can take the preferred slot from its own options:
    /// <code>
    /// services.AddVirtioPciDevice&lt;VirtioIommuDevice&gt;()
    ///     .Configure&lt;IOptions&lt;VirtioIommuOptions&gt;&gt;((pci, o) =&gt; pci.PreferredDevice = o.Value.PciSlot);
    /// </code>
    /// </summary>
    public static OptionsBuilder<VirtioPciOptions> AddVirtioPciDevice<TDevice>(this IServiceCollection services)
        where TDevice : class, IVirtioDevice
    {
        services.TryAddSingleton<TDevice>();
        services.AddPciFunction<VirtioPciFunction<TDevice>>();
        return services.AddOptions<VirtioPciOptions>(VirtioPciOptions.NameFor<TDevice>());
    }

    /// <summary>
    /// As <see cref="AddVirtioPciDevice{TDevice}(IServiceCollection)"/>, with the device's own transport subclass
    /// <typeparamref name="TFunction"/> as the PCI function, for a device whose function does more than carry it
    /// (an IOMMU is also the DMA seam's translator and learns its address at placement). <typeparamref name="TFunction"/>
    /// takes its transport options from <c>IOptionsMonitor&lt;VirtioPciOptions&gt;.Get(VirtioPciOptions.NameFor&lt;TDevice&gt;())</c>.
    /// </summary>
    public static OptionsBuilder<VirtioPciOptions> AddVirtioPciDevice<TDevice, TFunction>(this IServiceCollection services)
        where TDevice : class, IVirtioDevice
        where TFunction : VirtioPciFunction
    {
        services.TryAddSingleton<TDevice>();
        services.AddPciFunction<TFunction>();
        return services.AddOptions<VirtioPciOptions>(VirtioPciOptions.NameFor<TDevice>());
    }

    /// <summary>As <see cref="AddVirtioPciDevice{TDevice}(IServiceCollection)"/>, configuring the transport options inline.</summary>
    public static IServiceCollection AddVirtioPciDevice<TDevice>(this IServiceCollection services, Action<VirtioPciOptions> configure)
        where TDevice : class, IVirtioDevice
    {
        services.AddVirtioPciDevice<TDevice>().Configure(configure);
        return services;
    }
}
