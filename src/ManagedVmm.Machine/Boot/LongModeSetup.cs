using System.Buffers.Binary;
using ManagedVmm.Core.Memory;
using ManagedVmm.Machine.Boot.Spec;

namespace ManagedVmm.Machine.Boot;

/// <summary>
/// Writes what 64-bit entry needs into guest RAM — the identity page tables, the GDT and TSS, the stack's fake
/// return address — and returns the matching <see cref="BootState"/>.
/// <para>
/// The identity map covers <c>[0, max(4 GiB, end of RAM))</c>: the low 4 GiB (RAM, ECAM, the PCI window, the local
/// APIC) with 2 MiB pages in four page directories, everything above 4 GiB with 1 GiB pages straight from the
/// PDPTs (so the tables stay eight pages at most whatever the RAM size). All entries are present, writable,
/// supervisor; cache attributes are not modelled and left at write-back.
/// </para>
/// </summary>
public static class LongModeSetup
{
    public const ulong OneGiB = 1UL << 30;

    public const ulong TwoMiB = 1UL << 21;

    private const ulong GiBPerPdpt = 512;

    private const ulong LowGiBs = 4;

    /// <summary>The page-table bytes to place at <see cref="BootLayout.PageTablesAddress"/>, mapping <c>[0, mapEnd)</c>.</summary>
    public static byte[] BuildPageTables(ulong mapEnd, ulong tablesAddress)
    {
        ulong gibs = Math.Max(LowGiBs, (mapEnd + OneGiB - 1) / OneGiB);
        int pdpts = (int)((gibs + GiBPerPdpt - 1) / GiBPerPdpt);
        int pages = 1 + pdpts + (int)LowGiBs;
        if (pages > BootLayout.MaxPageTablePages)
        {
            throw new MachineConfigurationException($"RAM ending at 0x{mapEnd:x} needs {pdpts} PDPTs; the boot page tables hold at most {BootLayout.MaxPageTablePages - 5}");
        }

        var tables = new byte[pages * 4096];
        var span = tables.AsSpan();
        const ulong table = PageEntryBits.Present | PageEntryBits.Writable;
        const ulong large = table | PageEntryBits.PageSize;
        ulong pdptBase = tablesAddress + 4096;
        ulong pdBase = pdptBase + ((ulong)pdpts * 4096);
        for (int i = 0; i < pdpts; i++)
        {
            Entry(span, 0, i, (pdptBase + ((ulong)i * 4096)) | table);
        }

        for (ulong g = 0; g < gibs; g++)
        {
            int pdptPage = 1 + (int)(g / GiBPerPdpt);
            int index = (int)(g % GiBPerPdpt);
            if (g < LowGiBs)
            {
                Entry(span, pdptPage, index, (pdBase + (g * 4096)) | table);
                int pdPage = 1 + pdpts + (int)g;
                for (int e = 0; e < 512; e++)
                {
                    Entry(span, pdPage, e, ((g * OneGiB) + ((ulong)e * TwoMiB)) | large);
                }
            }
            else
            {
                Entry(span, pdptPage, index, (g * OneGiB) | large);
            }
        }

        return tables;
    }

    /// <summary>GDT: null, 64-bit code (0x08), data (0x10), busy 64-bit TSS (0x18, 16 bytes).</summary>
    public static byte[] BuildGdt(ulong tssAddress)
    {
        var gdt = new byte[SegmentDescriptors.GdtEntries * 8];
        var s = gdt.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(s[SegmentDescriptors.CodeSelector..], SegmentDescriptors.Code64);
        BinaryPrimitives.WriteUInt64LittleEndian(s[SegmentDescriptors.DataSelector..], SegmentDescriptors.Data);
        ulong limit = SegmentDescriptors.TssLimit;
        ulong low = (limit & 0xFFFF)
            | ((tssAddress & 0xFF_FFFF) << 16)
            | ((ulong)SegmentDescriptors.BusyTss64 << 40)
            | (((limit >> 16) & 0xF) << 48)
            | (((tssAddress >> 24) & 0xFF) << 56);
        BinaryPrimitives.WriteUInt64LittleEndian(s[SegmentDescriptors.TssSelector..], low);
        BinaryPrimitives.WriteUInt64LittleEndian(s[(SegmentDescriptors.TssSelector + 8)..], tssAddress >> 32);
        return gdt;
    }

    /// <summary>Writes tables, GDT, TSS and stack into <paramref name="ram"/> and returns the entry state.</summary>
    public static BootState Prepare(GuestRam ram, ulong entry, ulong bootInfoAddress)
    {
        ulong ramEnd = ram.Regions.Max(r => r.End);
        Write(ram, BootLayout.PageTablesAddress, BuildPageTables(ramEnd, BootLayout.PageTablesAddress));
        var gdt = BuildGdt(BootLayout.TssAddress);
        Write(ram, BootLayout.GdtAddress, gdt);
        Write(ram, BootLayout.TssAddress, new byte[SegmentDescriptors.TssLimit + 1]);
        ulong rsp = BootLayout.StackTop - 8;
        Write(ram, rsp, new byte[8]);
        return new BootState
        {
            Rip = entry,
            Rsp = rsp,
            Rdi = bootInfoAddress,
            Rsi = bootInfoAddress,
            Rflags = ControlRegisterBits.RflagsReserved1,
            Cr0 = ControlRegisterBits.Cr0Pe | ControlRegisterBits.Cr0Et | ControlRegisterBits.Cr0Pg,
            Cr3 = BootLayout.PageTablesAddress,
            Cr4 = ControlRegisterBits.Cr4Pae,
            Efer = ControlRegisterBits.EferLme | ControlRegisterBits.EferLma,
            GdtBase = BootLayout.GdtAddress,
            GdtLimit = (ushort)(gdt.Length - 1),
            IdtBase = 0,
            IdtLimit = 0,
            Cs = SegmentDescriptors.CodeSelector,
            DataSelector = SegmentDescriptors.DataSelector,
            Tr = SegmentDescriptors.TssSelector,
            TrBase = BootLayout.TssAddress,
            TrLimit = SegmentDescriptors.TssLimit,
        };
    }

    internal static void Write(GuestRam ram, ulong address, ReadOnlySpan<byte> bytes)
    {
        if (!ram.TryWrite(address, bytes))
        {
            throw new MachineConfigurationException($"boot structure at 0x{address:x} ({bytes.Length} bytes) is not in RAM");
        }
    }

    private static void Entry(Span<byte> tables, int page, int index, ulong value) =>
        BinaryPrimitives.WriteUInt64LittleEndian(tables[((page * 4096) + (index * 8))..], value);
}
