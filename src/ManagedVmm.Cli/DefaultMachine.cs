using ManagedVmm.Machine;

namespace ManagedVmm.Cli;

/// <summary>
/// The machine the CLI builds: the q35-like core (host bridge, ECAM, CF8/CFC), plus — when the user names no
/// <c>--device</c> — the default devices of the platform contract: a virtio-iommu translating every other function
/// and an NVMe controller behind it, both with their default options.
/// </summary>
internal static class DefaultMachine
{
    /// <summary>The <c>--device</c> specs used when none are given.</summary>
    public static IReadOnlyList<string> DefaultDevices { get; } = ["virtio-iommu-pci", "nvme"];

    public static MachineBuilder CreateBuilder(ulong memorySize) => new(o => o.MemorySize = memorySize);
}
