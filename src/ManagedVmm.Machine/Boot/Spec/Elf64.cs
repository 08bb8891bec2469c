namespace ManagedVmm.Machine.Boot.Spec;

/// <summary>ELF-64 file header (System V ABI, "ELF-64 Object File Format" 1.5, and the gABI §4).</summary>
public static class Elf64Header
{
    public const int Size = 64;

    /// <summary>e_ident[EI_CLASS]: 2 = ELFCLASS64.</summary>
    public const int ClassOffset = 4;

    /// <summary>e_ident[EI_DATA]: 1 = ELFDATA2LSB.</summary>
    public const int DataOffset = 5;

    /// <summary>e_ident[EI_VERSION]: 1 = EV_CURRENT.</summary>
    public const int IdentVersionOffset = 6;

    public const int TypeOffset = 16;

    public const int MachineOffset = 18;

    public const int VersionOffset = 20;

    public const int EntryOffset = 24;

    public const int PhOffOffset = 32;

    public const int PhEntSizeOffset = 54;

    public const int PhNumOffset = 56;

    public const byte ElfClass64 = 2;

    public const byte ElfData2Lsb = 1;

    public const byte EvCurrent = 1;

    /// <summary>ET_EXEC: an executable with fixed addresses.</summary>
    public const ushort EtExec = 2;

    /// <summary>EM_X86_64.</summary>
    public const ushort EmX86_64 = 62;

    public static ReadOnlySpan<byte> Magic => [0x7F, (byte)'E', (byte)'L', (byte)'F'];
}

/// <summary>ELF-64 program header (gABI "Program Header").</summary>
public static class Elf64ProgramHeader
{
    public const int Size = 56;

    public const int TypeOffset = 0;

    public const int FlagsOffset = 4;

    public const int OffsetOffset = 8;

    public const int VAddrOffset = 16;

    public const int PAddrOffset = 24;

    public const int FileSizeOffset = 32;

    public const int MemSizeOffset = 40;

    public const uint PtLoad = 1;

    public const uint PtNote = 4;

    /// <summary>p_flags bit 0: the segment is executable.</summary>
    public const uint PfX = 1;
}

/// <summary>Xen's ELF notes (xen/include/public/elfnote.h), as PVH boot uses them.</summary>
public static class XenElfNote
{
    /// <summary>The note owner ("Xen", NUL-terminated in the file).</summary>
    public const string Owner = "Xen";

    /// <summary>XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit physical entry point for PVH boot.</summary>
    public const uint Phys32Entry = 18;
}
