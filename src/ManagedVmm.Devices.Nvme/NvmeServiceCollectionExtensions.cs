using ManagedVmm.Pci;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Devices.Nvme;

/// <summary>The NVMe plugin's registration: <c>services.AddNvme(o => o.File = "disk.img")</c>.</summary>
public static class NvmeServiceCollectionExtensions
{
    /// <summary>
    /// Adds one NVMe controller. Options are validated and the disk image opened when the machine is built;
    /// a problem is an <see cref="NvmeConfigurationException"/> naming the cause.
    /// </summary>
    public static IServiceCollection AddNvme(this IServiceCollection services, Action<NvmeOptions>? configure = null)
    {
        services.AddOptions<NvmeOptions>().Configure(o => configure?.Invoke(o));
        services.AddPciFunction<NvmeController>();
        return services;
    }

    /// <summary>Adds one NVMe controller with the given options (copied at registration).</summary>
    public static IServiceCollection AddNvme(this IServiceCollection services, NvmeOptions options) =>
        services.AddNvme(o =>
        {
            o.Size = options.Size;
            o.LbaSize = options.LbaSize;
            o.File = options.File;
            o.ReadOnly = options.ReadOnly;
            o.MaxIoQueuePairs = options.MaxIoQueuePairs;
            o.MaxQueueEntries = options.MaxQueueEntries;
            o.Mdts = options.Mdts;
            o.MsixVectors = options.MsixVectors;
            o.Slot = options.Slot;
            o.Serial = options.Serial;
            o.Model = options.Model;
            o.FirmwareRevision = options.FirmwareRevision;
            o.Latency = options.Latency;
        });
}
