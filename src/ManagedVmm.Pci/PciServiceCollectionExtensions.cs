using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ManagedVmm.Pci;

/// <summary>The one registration step every PCI device plugin shares.</summary>
public static class PciServiceCollectionExtensions
{
    /// <summary>
    /// Registers a PCI function type as a singleton and as a <see cref="PciFunction"/>, so the machine finds and
    /// places it. Device plugins call this from their <c>AddXxx</c>.
    /// </summary>
    public static IServiceCollection AddPciFunction<TFunction>(this IServiceCollection services)
        where TFunction : PciFunction
    {
        services.TryAddSingleton<TFunction>();
        services.AddSingleton<PciFunction>(sp => sp.GetRequiredService<TFunction>());
        return services;
    }
}
