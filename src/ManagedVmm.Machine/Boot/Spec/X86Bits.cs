namespace ManagedVmm.Machine.Boot.Spec;

/// <summary>Control-register and EFER bits (Intel SDM Vol. 3A §2.5, §2.2.1).</summary>
public static class ControlRegisterBits
{
    public const ulong Cr0Pe = 1UL << 0;
    public const ulong Cr0Et = 1UL << 4;
    public const ulong Cr0Pg = 1UL << 31;

    public const ulong Cr4Pae = 1UL << 5;

    public const ulong EferLme = 1UL << 8;
    public const ulong EferLma = 1UL << 10;

    /// <summary>RFLAGS bit 1 always reads 1; IF (bit 9) is clear at boot.</summary>
    public const ulong RflagsReserved1 = 1UL << 1;
}

/// <summary>Paging-structure entry bits (Intel SDM Vol. 3A §4.5, Tables 4-14 to 4-19).</summary>
public static class PageEntryBits
{
    public const ulong Present = 1UL << 0;
    public const ulong Writable = 1UL << 1;

    /// <summary>PS: in a PDPTE maps a 1 GiB page, in a PDE a 2 MiB page.</summary>
    public const ulong PageSize = 1UL << 7;

    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000;
}

/// <summary>Segment descriptors (Intel SDM Vol. 3A §3.4.5, §7.2.3).</summary>
public static class SegmentDescriptors
{
    /// <summary>64-bit code: present, DPL 0, execute/read, accessed, L = 1, G = 1.</summary>
    public const ulong Code64 = 0x00AF_9B00_0000_FFFF;

    /// <summary>Data: present, DPL 0, read/write, accessed, D/B = 1, G = 1, base 0, limit 4 GiB.</summary>
    public const ulong Data = 0x00CF_9300_0000_FFFF;

    /// <summary>Type of a busy 64-bit TSS, present (LTR marks the TSS busy; the VMM loads TR as LTR would).</summary>
    public const byte BusyTss64 = 0x8B;

    /// <summary>A 64-bit TSS is 104 bytes; the limit is one less.</summary>
    public const uint TssLimit = 0x67;

    public const ushort NullSelector = 0x00;
    public const ushort CodeSelector = 0x08;
    public const ushort DataSelector = 0x10;
    public const ushort TssSelector = 0x18;

    /// <summary>Null, code, data, and the 16-byte TSS descriptor.</summary>
    public const int GdtEntries = 5;
}
