namespace ManagedVmm.Pci.Spec;

/// <summary>Type-0 configuration header offsets (PCI Local Bus 3.0 §6.1, PCIe Base 4.0 §7.5.1).</summary>
public static class PciConfig
{
    /// <summary>Bytes of configuration space a function has with ECAM (PCIe extended space).</summary>
    public const int Size = 4096;

    /// <summary>The legacy (CF8/CFC-addressable) part.</summary>
    public const int LegacySize = 256;

    public const int VendorId = 0x00;
    public const int DeviceId = 0x02;
    public const int Command = 0x04;
    public const int Status = 0x06;
    public const int RevisionId = 0x08;
    public const int ClassCode = 0x09;
    public const int CacheLineSize = 0x0C;
    public const int LatencyTimer = 0x0D;
    public const int HeaderType = 0x0E;
    public const int Bist = 0x0F;
    public const int Bar0 = 0x10;
    public const int BarCount = 6;
    public const int SubsystemVendorId = 0x2C;
    public const int SubsystemId = 0x2E;
    public const int ExpansionRom = 0x30;
    public const int CapabilitiesPointer = 0x34;
    public const int InterruptLine = 0x3C;
    public const int InterruptPin = 0x3D;

    /// <summary>First byte after the type-0 header: capabilities live from here to 0xFF.</summary>
    public const int CapabilitiesStart = 0x40;

    public static int BarOffset(int index) => Bar0 + (4 * index);
}

/// <summary>Command register bits (PCI 3.0 §6.2.2).</summary>
[Flags]
public enum PciCommand : ushort
{
    IoSpace = 1 << 0,
    MemorySpace = 1 << 1,
    BusMaster = 1 << 2,
    ParityErrorResponse = 1 << 6,
    SErrEnable = 1 << 8,
    InterruptDisable = 1 << 10,

    /// <summary>The bits a type-0 function implements here; the rest read as zero.</summary>
    Writable = IoSpace | MemorySpace | BusMaster | ParityErrorResponse | SErrEnable | InterruptDisable,
}

/// <summary>Status register bits (PCI 3.0 §6.2.3).</summary>
[Flags]
public enum PciStatus : ushort
{
    InterruptStatus = 1 << 3,
    CapabilitiesList = 1 << 4,
    MasterDataParityError = 1 << 8,
    SignaledTargetAbort = 1 << 11,
    ReceivedTargetAbort = 1 << 12,
    ReceivedMasterAbort = 1 << 13,
    SignaledSystemError = 1 << 14,
    DetectedParityError = 1 << 15,

    /// <summary>Error bits: read/write-1-to-clear.</summary>
    WriteOneToClear = MasterDataParityError | SignaledTargetAbort | ReceivedTargetAbort | ReceivedMasterAbort
        | SignaledSystemError | DetectedParityError,
}

/// <summary>Base address register low bits (PCI 3.0 §6.2.5.1).</summary>
public static class PciBarBits
{
    public const uint IoSpace = 0x1;
    public const uint Memory64 = 0x4;
    public const uint Prefetchable = 0x8;
    public const uint MemoryAddressMask = 0xFFFF_FFF0;
    public const uint IoAddressMask = 0xFFFF_FFFC;
}

/// <summary>Capability IDs this project builds or decodes (PCI Code and ID Assignment 1.11 §2).</summary>
public static class PciCapabilityId
{
    public const byte PowerManagement = 0x01;
    public const byte Msi = 0x05;
    public const byte VendorSpecific = 0x09;
    public const byte PciExpress = 0x10;
    public const byte MsiX = 0x11;

    public static string Name(byte id) => id switch
    {
        PowerManagement => "Power Management",
        Msi => "MSI",
        VendorSpecific => "Vendor Specific",
        PciExpress => "Express",
        MsiX => "MSI-X",
        _ => $"capability 0x{id:x2}",
    };
}
