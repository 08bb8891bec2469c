namespace ManagedVmm.Machine.Boot;

/// <summary>
/// Where the VMM puts its boot structures in guest RAM. All of them lie in the low megabyte, which the boot-info
/// memory map reports as reserved, so a guest's allocator never hands them out; ELF segments must lie above it.
/// <code>
/// 0x0000_1000  GDT (null, 64-bit code 0x08, data 0x10, TSS 0x18) and the TSS at +0x80
/// 0x0000_2000  boot-info block (64 bytes), then the memory map entries (24 bytes each)
/// 0x0000_3000  command line, NUL-terminated (at most 4 KiB with the NUL)
/// 0x0001_0000  page tables: PML4, PDPTs, then the page directories for the low 4 GiB
/// 0x0007_0000  boot stack, 64 KiB, growing down from 0x0008_0000
/// 0x0008_0000  ACPI tables (RSDP, XSDT, MADT, MCFG, VIOT), up to 128 KiB
/// 0x000E_0000  firmware area (read-only to the CPU): a copy of the RSDP at 0x000E_0000 for the legacy scan
/// </code>
/// </summary>
public static class BootLayout
{
    public const ulong GdtAddress = 0x1000;

    public const ulong TssAddress = 0x1080;

    public const ulong BootInfoAddress = 0x2000;

    public const ulong MemoryMapAddress = BootInfoAddress + BootInfo.Size;

    /// <summary>Entries that fit in the rest of the boot-info page; our map has fewer than ten.</summary>
    public const int MaxMemoryMapEntries = (int)((CommandLineAddress - MemoryMapAddress) / MemoryMapEntry.Size);

    public const ulong CommandLineAddress = 0x3000;

    /// <summary>Bytes for the command line including its NUL.</summary>
    public const int CommandLineCapacity = 0x1000;

    public const ulong PageTablesAddress = 0x1_0000;

    /// <summary>PML4 + up to 3 PDPTs (RAM up to 1.5 TiB) + 4 page directories (the low 4 GiB in 2 MiB pages).</summary>
    public const int MaxPageTablePages = 8;

    public const ulong StackBottom = 0x7_0000;

    public const ulong StackTop = 0x8_0000;

    public const ulong AcpiAddress = 0x8_0000;

    public const ulong AcpiCapacity = 0x2_0000;

    /// <summary>The RSDP copy found by the 16-byte-aligned scan of 0xE0000–0xFFFFF.</summary>
    public const ulong RsdpScanCopyAddress = PlatformLayout.FirmwareAreaBase;

    /// <summary>Everything below this is VMM-owned (boot structures, legacy hole, firmware area): reserved in the map.</summary>
    public const ulong LowReservedEnd = 0x10_0000;

    /// <summary>Where guest images are linked (the lowest address a PT_LOAD segment may use).</summary>
    public const ulong ImageBase = LowReservedEnd;
}
