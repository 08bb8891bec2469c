using ManagedVmm.Core.Dma;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>DI registration of the device logic; the queue glue's <c>AddVirtioIommu</c> calls this and adds its PCI function.</summary>
public static class VirtioIommuServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="VirtioIommuOptions"/> (validated on start), the <see cref="VirtioIommu"/> singleton, and its
    /// translator as an <see cref="IDmaTranslator"/> of the DMA seam.
    /// </summary>
    public static IServiceCollection AddVirtioIommuCore(this IServiceCollection services, Action<VirtioIommuOptions>? configure = null)
    {
        var builder = services.AddOptions<VirtioIommuOptions>();
        if (configure != null)
        {
            builder.Configure(configure);
        }

        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VirtioIommuOptions>, VirtioIommuOptionsValidator>());
        services.TryAddSingleton<VirtioIommu>();
        services.AddSingleton<IDmaTranslator>(sp => sp.GetRequiredService<VirtioIommu>().Translator);
        return services;
    }
}
