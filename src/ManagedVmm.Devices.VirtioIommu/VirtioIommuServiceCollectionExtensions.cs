using ManagedVmm.Core.Dma;
using ManagedVmm.Virtio;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>DI registration of the virtio-iommu: <c>services.AddVirtioIommu(o => o.Granule = 4096)</c>.</summary>
public static class VirtioIommuServiceCollectionExtensions
{
    /// <summary>
    /// Adds the virtio-iommu-pci function: <see cref="VirtioIommuOptions"/> (validated on start), the engine, the
    /// virtio device, the PCI function (at <see cref="VirtioIommuOptions.Slot"/> or the next free slot),
    /// and that function as the <see cref="IDmaTranslator"/> every other PCI function's DMA goes through.
    /// </summary>
    public static IServiceCollection AddVirtioIommu(this IServiceCollection services, Action<VirtioIommuOptions>? configure = null)
    {
        services.AddVirtioIommuEngine(configure);
        services.AddVirtioPciDevice<VirtioIommuDevice, VirtioIommuPciFunction>()
            .Configure<IOptions<VirtioIommuOptions>>((pci, o) => pci.PreferredDevice = o.Value.Slot);
        services.AddSingleton<IDmaTranslator>(sp => sp.GetRequiredService<VirtioIommuPciFunction>());
        return services;
    }

    /// <summary>
    /// Registers the device logic alone — <see cref="VirtioIommuOptions"/> (validated on start), the
    /// <see cref="VirtioIommu"/> singleton, and its translator as an <see cref="IDmaTranslator"/> of the DMA seam —
    /// without a PCI function (tests of the engine; a machine uses <see cref="AddVirtioIommu"/>).
    /// </summary>
    public static IServiceCollection AddVirtioIommuCore(this IServiceCollection services, Action<VirtioIommuOptions>? configure = null)
    {
        services.AddVirtioIommuEngine(configure);
        services.AddSingleton<IDmaTranslator>(sp => sp.GetRequiredService<VirtioIommu>().Translator);
        return services;
    }

    /// <summary>
    /// Sets the cost model's request costs (<see cref="VirtioIommuCostOptions"/>): requests then complete after
    /// their modelled host time on the machine's virtual clock. Without it every request costs nothing.
    /// </summary>
    public static IServiceCollection AddVirtioIommuCosts(this IServiceCollection services, Action<VirtioIommuCostOptions> configure)
    {
        services.AddOptions<VirtioIommuCostOptions>().Configure(configure);
        return services;
    }

    private static void AddVirtioIommuEngine(this IServiceCollection services, Action<VirtioIommuOptions>? configure)
    {
        var builder = services.AddOptions<VirtioIommuOptions>();
        if (configure != null)
        {
            builder.Configure(configure);
        }

        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VirtioIommuOptions>, VirtioIommuOptionsValidator>());
        services.TryAddSingleton<VirtioIommu>();
    }
}
