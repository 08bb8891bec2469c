namespace ManagedVmm.Machine.Acpi.Spec;

/// <summary>Root System Description Pointer, ACPI 6.5 §5.2.5.3 (revision 2 layout, 36 bytes).</summary>
public static class Rsdp
{
    public const string Signature = "RSD PTR ";

    public const int SignatureOffset = 0;

    /// <summary>Checksum of the first 20 bytes (the ACPI 1.0 part).</summary>
    public const int ChecksumOffset = 8;

    public const int OemIdOffset = 9;

    public const int RevisionOffset = 15;

    public const int RsdtAddressOffset = 16;

    public const int LengthOffset = 20;

    public const int XsdtAddressOffset = 24;

    /// <summary>Checksum of the whole 36-byte structure.</summary>
    public const int ExtendedChecksumOffset = 32;

    public const int V1Length = 20;

    public const int Length = 36;

    /// <summary>Revision 2: ACPI 2.0 and later, with the XSDT address.</summary>
    public const byte Revision = 2;

    /// <summary>The legacy scan looks on 16-byte boundaries (ACPI §5.2.5.1).</summary>
    public const int ScanAlignment = 16;
}

/// <summary>The system description table header every table starts with, ACPI 6.5 §5.2.6 (36 bytes).</summary>
public static class AcpiHeader
{
    public const int SignatureOffset = 0;

    public const int LengthOffset = 4;

    public const int RevisionOffset = 8;

    public const int ChecksumOffset = 9;

    public const int OemIdOffset = 10;

    public const int OemTableIdOffset = 16;

    public const int OemRevisionOffset = 24;

    public const int CreatorIdOffset = 28;

    public const int CreatorRevisionOffset = 32;

    public const int Size = 36;
}

/// <summary>Table signatures and the revisions we build.</summary>
public static class AcpiTableSignature
{
    public const string Xsdt = "XSDT";

    public const string Madt = "APIC";

    public const string Mcfg = "MCFG";

    public const string Viot = "VIOT";

    /// <summary>XSDT revision (ACPI 6.5 §5.2.8).</summary>
    public const byte XsdtRevision = 1;

    /// <summary>MADT revision 5 (ACPI 6.2–6.4 layout; only the local APIC structure is used).</summary>
    public const byte MadtRevision = 5;

    /// <summary>MCFG revision (PCI Firmware Specification 3.2 §4.1.2).</summary>
    public const byte McfgRevision = 1;

    /// <summary>
    /// VIOT revision 0, as ACPI 6.4 §5.2.32 defines the table and QEMU builds it (reference linux-guest-driver.md §4
    /// says 1; Linux does not check the revision).
    /// </summary>
    public const byte ViotRevision = 0;
}

/// <summary>Multiple APIC Description Table, ACPI 6.5 §5.2.12.</summary>
public static class Madt
{
    /// <summary>u32 physical address of the local APIC, right after the header.</summary>
    public const int LocalApicAddressOffset = 36;

    /// <summary>u32 flags; bit 0 PCAT_COMPAT (dual 8259s present) is clear: this machine has none.</summary>
    public const int FlagsOffset = 40;

    public const int EntriesOffset = 44;

    /// <summary>Processor Local APIC structure (§5.2.12.2): type 0, length 8.</summary>
    public const byte LocalApicType = 0;

    public const byte LocalApicLength = 8;

    /// <summary>Local APIC flags bit 0: the processor is usable.</summary>
    public const uint LocalApicEnabled = 1;
}

/// <summary>PCI Express memory-mapped configuration table (PCI Firmware Specification 3.2 §4.1.2).</summary>
public static class Mcfg
{
    /// <summary>Eight reserved bytes follow the header.</summary>
    public const int EntriesOffset = 44;

    /// <summary>One allocation: u64 base, u16 segment, u8 start bus, u8 end bus, u32 reserved.</summary>
    public const int EntrySize = 16;
}

/// <summary>Virtual I/O Translation table, ACPI 6.4 §5.2.32 (reference linux-guest-driver.md §4.1).</summary>
public static class Viot
{
    public const int NodeCountOffset = 36;

    public const int NodeOffsetOffset = 38;

    /// <summary>Header (36) + node_count + node_offset + 8 reserved bytes.</summary>
    public const int NodesStart = 48;

    /// <summary>Node type 1: a range of PCI endpoints.</summary>
    public const byte PciRangeType = 1;

    public const ushort PciRangeLength = 24;

    /// <summary>Node type 3: a virtio-iommu implemented as a PCI function.</summary>
    public const byte VirtioIommuPciType = 3;

    public const ushort VirtioIommuPciLength = 16;
}
