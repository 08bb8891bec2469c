namespace ManagedVmm.Devices.VirtioIommu.Spec;

// Names and values of the virtio 1.2 IOMMU device (OASIS virtio v1.2 cs01, §5.13 "IOMMU Device"; v1.3 and v1.4
// define the same device). Each type cites the subsection it comes from.

/// <summary>Identity of the device (§5.13.1 "Device ID", §5.13.2 "Virtqueues").</summary>
public static class VirtioIommuIds
{
    /// <summary>Virtio device ID of the IOMMU (§5.13.1).</summary>
    public const int DeviceId = 23;

    /// <summary>Modern virtio-pci device ID: 0x1040 + device ID (§4.1.2.1 "Device Requirements: PCI Device Discovery").</summary>
    public const ushort PciDeviceId = 0x1040 + DeviceId;

    /// <summary>Index of <c>requestq</c> (§5.13.2).</summary>
    public const int RequestQueue = 0;

    /// <summary>Index of <c>eventq</c> (§5.13.2).</summary>
    public const int EventQueue = 1;

    /// <summary>Number of virtqueues (§5.13.2).</summary>
    public const int QueueCount = 2;
}

/// <summary>Device-specific feature bits, <c>VIRTIO_IOMMU_F_*</c> (§5.13.3 "Feature bits").</summary>
[Flags]
public enum VirtioIommuFeatures : ulong
{
    None = 0,

    /// <summary><c>VIRTIO_IOMMU_F_INPUT_RANGE</c> (bit 0): <c>input_range</c> is valid.</summary>
    InputRange = 1UL << 0,

    /// <summary><c>VIRTIO_IOMMU_F_DOMAIN_RANGE</c> (bit 1): <c>domain_range</c> is valid.</summary>
    DomainRange = 1UL << 1,

    /// <summary><c>VIRTIO_IOMMU_F_MAP_UNMAP</c> (bit 2): MAP and UNMAP requests are available.</summary>
    MapUnmap = 1UL << 2,

    /// <summary><c>VIRTIO_IOMMU_F_BYPASS</c> (bit 3, legacy): unattached endpoints bypass when negotiated. Superseded by bit 6.</summary>
    Bypass = 1UL << 3,

    /// <summary><c>VIRTIO_IOMMU_F_PROBE</c> (bit 4): PROBE requests are available and <c>probe_size</c> is valid.</summary>
    Probe = 1UL << 4,

    /// <summary><c>VIRTIO_IOMMU_F_MMIO</c> (bit 5): the MAP flag <c>VIRTIO_IOMMU_MAP_F_MMIO</c> is available.</summary>
    Mmio = 1UL << 5,

    /// <summary><c>VIRTIO_IOMMU_F_BYPASS_CONFIG</c> (bit 6): config <c>bypass</c> and <c>VIRTIO_IOMMU_ATTACH_F_BYPASS</c>.</summary>
    BypassConfig = 1UL << 6,

    /// <summary>Every bit this device knows (0–6).</summary>
    AllKnown = InputRange | DomainRange | MapUnmap | Bypass | Probe | Mmio | BypassConfig,
}

/// <summary>Request types, <c>VIRTIO_IOMMU_T_*</c> (§5.13.6 "Device operations").</summary>
public enum VirtioIommuRequestType : byte
{
    Attach = 0x01,
    Detach = 0x02,
    Map = 0x03,
    Unmap = 0x04,
    Probe = 0x05,
}

/// <summary>Status codes written to <c>virtio_iommu_req_tail.status</c>, <c>VIRTIO_IOMMU_S_*</c> (§5.13.6).</summary>
public enum VirtioIommuStatus : byte
{
    /// <summary><c>VIRTIO_IOMMU_S_OK</c>: success.</summary>
    Ok = 0x00,

    /// <summary><c>VIRTIO_IOMMU_S_IOERR</c>: virtio communication error.</summary>
    IoErr = 0x01,

    /// <summary><c>VIRTIO_IOMMU_S_UNSUPP</c>: unsupported request.</summary>
    Unsupp = 0x02,

    /// <summary><c>VIRTIO_IOMMU_S_DEVERR</c>: internal device error.</summary>
    DevErr = 0x03,

    /// <summary><c>VIRTIO_IOMMU_S_INVAL</c>: invalid parameters.</summary>
    Inval = 0x04,

    /// <summary><c>VIRTIO_IOMMU_S_RANGE</c>: out-of-range parameters.</summary>
    Range = 0x05,

    /// <summary><c>VIRTIO_IOMMU_S_NOENT</c>: entry not found.</summary>
    NoEnt = 0x06,

    /// <summary><c>VIRTIO_IOMMU_S_FAULT</c>: bad address.</summary>
    Fault = 0x07,

    /// <summary><c>VIRTIO_IOMMU_S_NOMEM</c>: insufficient resources.</summary>
    NoMem = 0x08,
}

/// <summary><c>virtio_iommu_req_attach.flags</c> (§5.13.6.1 "ATTACH request").</summary>
[Flags]
public enum VirtioIommuAttachFlags : uint
{
    None = 0,

    /// <summary><c>VIRTIO_IOMMU_ATTACH_F_BYPASS</c>: create or join a bypass domain (needs BYPASS_CONFIG).</summary>
    Bypass = 1u << 0,
}

/// <summary><c>virtio_iommu_req_map.flags</c> (§5.13.6.3 "MAP request").</summary>
[Flags]
public enum VirtioIommuMapFlags : uint
{
    None = 0,

    /// <summary><c>VIRTIO_IOMMU_MAP_F_READ</c>.</summary>
    Read = 1u << 0,

    /// <summary><c>VIRTIO_IOMMU_MAP_F_WRITE</c>.</summary>
    Write = 1u << 1,

    /// <summary><c>VIRTIO_IOMMU_MAP_F_MMIO</c>: memory type MMIO (only with VIRTIO_IOMMU_F_MMIO).</summary>
    Mmio = 1u << 2,
}

/// <summary>PROBE property types, <c>VIRTIO_IOMMU_PROBE_T_*</c> (§5.13.6.6 "PROBE properties").</summary>
public enum VirtioIommuProbeType : ushort
{
    /// <summary><c>VIRTIO_IOMMU_PROBE_T_NONE</c>: ends the property list.</summary>
    None = 0,

    /// <summary><c>VIRTIO_IOMMU_PROBE_T_RESV_MEM</c>: a reserved memory region.</summary>
    ResvMem = 1,
}

/// <summary>RESV_MEM subtypes, <c>VIRTIO_IOMMU_RESV_MEM_T_*</c> (§5.13.6.6.1 "Property RESV_MEM").</summary>
public enum VirtioIommuResvMemSubtype : byte
{
    /// <summary><c>VIRTIO_IOMMU_RESV_MEM_T_RESERVED</c>: these IOVAs cannot be mapped.</summary>
    Reserved = 0,

    /// <summary><c>VIRTIO_IOMMU_RESV_MEM_T_MSI</c>: the MSI doorbell window (identity, not mappable).</summary>
    Msi = 1,
}

/// <summary>Fault reasons, <c>VIRTIO_IOMMU_FAULT_R_*</c> (§5.13.6.7 "Fault reporting").</summary>
public enum VirtioIommuFaultReason : byte
{
    /// <summary><c>VIRTIO_IOMMU_FAULT_R_UNKNOWN</c>.</summary>
    Unknown = 0,

    /// <summary><c>VIRTIO_IOMMU_FAULT_R_DOMAIN</c>: the endpoint is not attached to any domain.</summary>
    Domain = 1,

    /// <summary><c>VIRTIO_IOMMU_FAULT_R_MAPPING</c>: no mapping, or the mapping forbids the access.</summary>
    Mapping = 2,
}

/// <summary>Fault flags, <c>VIRTIO_IOMMU_FAULT_F_*</c> (§5.13.6.7).</summary>
[Flags]
public enum VirtioIommuFaultFlags : uint
{
    None = 0,

    /// <summary><c>VIRTIO_IOMMU_FAULT_F_READ</c>: the access was a read.</summary>
    Read = 1u << 0,

    /// <summary><c>VIRTIO_IOMMU_FAULT_F_WRITE</c>: the access was a write.</summary>
    Write = 1u << 1,

    /// <summary><c>VIRTIO_IOMMU_FAULT_F_EXEC</c> (Linux/QEMU headers only; not in the spec text, never produced here).</summary>
    Exec = 1u << 2,

    /// <summary><c>VIRTIO_IOMMU_FAULT_F_ADDRESS</c>: the <c>address</c> field is valid.</summary>
    Address = 1u << 8,
}
