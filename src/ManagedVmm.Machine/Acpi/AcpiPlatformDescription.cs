using ManagedVmm.Core;

namespace ManagedVmm.Machine.Acpi;

/// <summary>A virtio-iommu PCI function and the endpoints (requester IDs) it translates, for the VIOT.</summary>
public sealed record ViotIommu(Bdf Address, IReadOnlyList<Bdf> Endpoints, IReadOnlyList<Bdf> Blocked);

/// <summary>
/// What the ACPI tables describe: processors, the local APIC, ECAM, and the IOMMUs. <see cref="ViotIommu.Blocked"/>
/// lists placed functions that a range node must not cover (the IOMMU itself, functions it does not translate);
/// addresses that hold no function may be covered so that ranges stay few.
/// </summary>
public sealed record AcpiPlatformDescription(
    int CpuCount,
    ulong LocalApicAddress,
    ulong EcamBase,
    byte EcamStartBus,
    byte EcamEndBus,
    IReadOnlyList<ViotIommu> Iommus);
