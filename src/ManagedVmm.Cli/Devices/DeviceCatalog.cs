using ManagedVmm.Devices.Nvme;
using ManagedVmm.Devices.VirtioIommu;
using ManagedVmm.Pci;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Cli.Devices;

/// <summary>
/// One device driver the command line knows: its <c>--device</c> name, its options type (every public settable
/// property becomes a <c>key=value</c> property through <see cref="OptionsBinder"/>), the plugin's <c>AddXxx</c>
/// registration, and optionally a statistics summary for <c>run --stats</c>.
/// </summary>
public sealed record DeviceDriver(
    string Name,
    string Description,
    Type OptionsType,
    Action<IServiceCollection, object> Add,
    Func<IServiceProvider, IEnumerable<string>>? Statistics = null,
    bool SingleInstance = false)
{
    public object CreateOptions() => Activator.CreateInstance(OptionsType)!;
}

/// <summary>
/// The table of device drivers <c>--device</c> accepts: name → options type → <c>AddXxx</c>. Adding a device to the
/// command line is one entry here; nothing else in the CLI knows device types.
/// </summary>
public static class DeviceCatalog
{
    public static IReadOnlyList<DeviceDriver> Drivers { get; } =
    [
        Driver<NvmeOptions>(
            "nvme",
            "NVMe controller (class 01:08:02), e.g. nvme,size=64M,file=disk.img",
            (s, o) => s.AddNvme(o),
            NvmeStatistics,
            singleInstance: true), // the plugin registers one unnamed NvmeOptions: a second controller is not possible yet

        Driver<VirtioIommuOptions>(
            "virtio-iommu-pci",
            "virtio-iommu on PCI (1af4:1057), e.g. virtio-iommu-pci,granule=4k,boot-bypass=off",
            (s, o) => s.AddVirtioIommu(target => OptionsBinder.CopyProperties(o, target)),
            VirtioIommuStatistics,
            singleInstance: true), // one IOMMU translates every other function on bus 0
    ];

    public static DeviceDriver? Find(string name) =>
        Drivers.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The known driver names, for messages and --help.</summary>
    public static string Names => string.Join(", ", Drivers.Select(d => d.Name));

    /// <summary>
    /// Parses each <c>--device</c> text, binds its properties to a fresh options object and registers the device.
    /// Returns false with a one-line message for a malformed spec, an unknown driver, or an unknown property or bad value.
    /// </summary>
    public static bool TryAddDevices(IServiceCollection services, IEnumerable<string> specs, out string? error)
    {
        var adds = new List<Action>();
        var seen = new HashSet<DeviceDriver>();
        foreach (string text in specs)
        {
            if (!DeviceSpec.TryParse(text, out var spec, out error))
            {
                return false;
            }

            var driver = Find(spec!.Driver);
            if (driver == null)
            {
                error = $"unknown device '{spec.Driver}' (known: {Names})";
                return false;
            }

            if (!seen.Add(driver) && driver.SingleInstance)
            {
                error = $"{driver.Name}: only one {driver.Name} device is supported";
                return false;
            }

            object options = driver.CreateOptions();
            if (!OptionsBinder.TryBind(options, spec, out error))
            {
                return false;
            }

            adds.Add(() => driver.Add(services, options));
        }

        foreach (var add in adds)
        {
            add();
        }

        error = null;
        return true;
    }

    /// <summary>Statistics lines of every device in the machine whose driver can report them.</summary>
    public static IEnumerable<string> Statistics(IServiceProvider services) =>
        Drivers.Where(d => d.Statistics != null).SelectMany(d => d.Statistics!(services));

    private static DeviceDriver Driver<TOptions>(
        string name,
        string description,
        Action<IServiceCollection, TOptions> add,
        Func<IServiceProvider, IEnumerable<string>>? statistics = null,
        bool singleInstance = false)
        where TOptions : class, new() =>
        new(name, description, typeof(TOptions), (s, o) => add(s, (TOptions)o), statistics, singleInstance);

    private static IEnumerable<string> NvmeStatistics(IServiceProvider services)
    {
        foreach (var nvme in services.GetServices<PciFunction>().OfType<NvmeController>().Distinct())
        {
            var s = nvme.Statistics;
            yield return $"nvme {nvme.Address}: commands {s.CommandsTotal} (errors {s.Errors}), bytes read {s.BytesRead} written {s.BytesWritten}, " +
                $"doorbells {s.Doorbells}, completions {s.CompletionsPosted}, interrupts {s.Interrupts}, DMA faults {s.DataDmaFaults + s.FatalDmaFaults}, " +
                $"peak outstanding {s.PeakOutstanding}";
        }
    }

    private static IEnumerable<string> VirtioIommuStatistics(IServiceProvider services)
    {
        foreach (var iommu in services.GetServices<PciFunction>().OfType<VirtioIommuPciFunction>().Distinct())
        {
            var st = iommu.CaptureState()["iommu"]?["Statistics"];
            var byType = st?["RequestsByType"];
            yield return $"virtio-iommu {iommu.Address}: requests {st?["Requests"]} (attach {byType?["Attach"]}, detach {byType?["Detach"]}, " +
                $"map {byType?["Map"]}, unmap {byType?["Unmap"]}, probe {byType?["Probe"]}), kicks {st?["Kicks"]}, " +
                $"translations {st?["Translations"]} (bypass {st?["BypassTranslations"]}), faults {st?["Faults"]}, " +
                $"live mappings {st?["LiveMappings"]} (peak {st?["PeakMappings"]})";
        }
    }
}
