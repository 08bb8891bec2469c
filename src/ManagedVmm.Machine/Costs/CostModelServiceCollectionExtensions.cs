using ManagedVmm.Pci;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ManagedVmm.Machine;

/// <summary>
/// The machine-level part of the cost model (ARCHITECTURE §6): what a guest access to each PCI function's BARs
/// costs (an exit for emulated functions, a plain MMIO for passed-through ones, by function name) and what an
/// interrupt delivery costs. Device-level costs (NVMe media, virtio-iommu requests) are the devices' own options.
/// Nothing here knows a device type.
/// </summary>
public static class CostModelServiceCollectionExtensions
{
    public static IServiceCollection AddMachineCosts(this IServiceCollection services, PciAccessCosts accessCosts, long interruptDeliveryNs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(accessCosts.EmulatedNs);
        ArgumentOutOfRangeException.ThrowIfNegative(accessCosts.PassthroughNs);
        ArgumentOutOfRangeException.ThrowIfNegative(interruptDeliveryNs);
        services.Replace(ServiceDescriptor.Singleton(accessCosts));
        services.Replace(ServiceDescriptor.Singleton(new InterruptDeliveryCost(interruptDeliveryNs)));
        return services;
    }
}
