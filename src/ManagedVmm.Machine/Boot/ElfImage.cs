using System.Buffers.Binary;
using ManagedVmm.Machine.Boot.Spec;

namespace ManagedVmm.Machine.Boot;

/// <summary>One PT_LOAD segment: <see cref="FileSize"/> bytes from the file at <see cref="PhysicalAddress"/>, zeros up to <see cref="MemorySize"/>.</summary>
public readonly record struct ElfSegment(ulong PhysicalAddress, ulong FileOffset, ulong FileSize, ulong MemorySize, bool Executable)
{
    public ulong End => PhysicalAddress + MemorySize;
}

/// <summary>
/// A validated ELF64 x86-64 executable (ET_EXEC): its entry, its PT_LOAD segments (by physical address,
/// <c>p_paddr</c>, as a boot loader places them), and the PVH entry from a <c>XEN_ELFNOTE_PHYS32_ENTRY</c> note
/// if the image carries one. <see cref="Parse"/> checks everything it can without knowing the machine: header
/// fields, that every table and segment lies inside the file, no address overflow, no two segments overlapping,
/// the entry inside an executable segment. A bad file is a <see cref="MachineConfigurationException"/> naming the
/// image and the problem.
/// </summary>
public sealed class ElfImage
{
    /// <summary>More program headers than any image we boot has; bounds the work a hostile file can cause.</summary>
    public const int MaxProgramHeaders = 64;

    private readonly byte[] _file;

    private ElfImage(string name, byte[] file, ulong entry, IReadOnlyList<ElfSegment> segments, ulong? pvhEntry)
    {
        Name = name;
        _file = file;
        Entry = entry;
        Segments = segments;
        PvhEntry = pvhEntry;
    }

    /// <summary>What the image is called in messages (its path, or "payload").</summary>
    public string Name { get; }

    public ulong Entry { get; }

    public IReadOnlyList<ElfSegment> Segments { get; }

    /// <summary>The 32-bit PVH entry from the Xen note, or null when the image has none.</summary>
    public ulong? PvhEntry { get; }

    /// <summary>Lowest physical address any segment occupies.</summary>
    public ulong LowestAddress => Segments.Min(s => s.PhysicalAddress);

    /// <summary>One past the highest physical address any segment occupies.</summary>
    public ulong EndAddress => Segments.Max(s => s.End);

    /// <summary>The file bytes of a segment.</summary>
    public ReadOnlySpan<byte> FileBytes(ElfSegment segment) => _file.AsSpan((int)segment.FileOffset, (int)segment.FileSize);

    public static ElfImage Parse(string name, byte[] file)
    {
        if (file.Length < Elf64Header.Size)
        {
            throw Bad(name, $"truncated: {file.Length} bytes is shorter than the 64-byte ELF64 header");
        }

        var span = file.AsSpan();
        if (!span[..4].SequenceEqual(Elf64Header.Magic))
        {
            throw Bad(name, "not an ELF file (no \\x7fELF magic)");
        }

        if (span[Elf64Header.ClassOffset] != Elf64Header.ElfClass64)
        {
            throw Bad(name, $"ELF class {span[Elf64Header.ClassOffset]} is not ELFCLASS64 (2): only 64-bit images boot");
        }

        if (span[Elf64Header.DataOffset] != Elf64Header.ElfData2Lsb)
        {
            throw Bad(name, $"ELF data encoding {span[Elf64Header.DataOffset]} is not little-endian (ELFDATA2LSB)");
        }

        if (span[Elf64Header.IdentVersionOffset] != Elf64Header.EvCurrent || U32(span, Elf64Header.VersionOffset) != Elf64Header.EvCurrent)
        {
            throw Bad(name, "ELF version is not EV_CURRENT (1)");
        }

        ushort machine = U16(span, Elf64Header.MachineOffset);
        if (machine != Elf64Header.EmX86_64)
        {
            throw Bad(name, $"machine {machine} is not x86-64 (EM_X86_64 = 62)");
        }

        ushort type = U16(span, Elf64Header.TypeOffset);
        if (type != Elf64Header.EtExec)
        {
            throw Bad(name, $"ELF type {type} is not an executable (ET_EXEC = 2); link with -static -no-pie");
        }

        ulong phoff = U64(span, Elf64Header.PhOffOffset);
        ushort phentsize = U16(span, Elf64Header.PhEntSizeOffset);
        ushort phnum = U16(span, Elf64Header.PhNumOffset);
        if (phnum == 0 || phnum > MaxProgramHeaders)
        {
            throw Bad(name, $"{phnum} program headers (1 to {MaxProgramHeaders} expected)");
        }

        if (phentsize != Elf64ProgramHeader.Size)
        {
            throw Bad(name, $"program header size {phentsize} is not {Elf64ProgramHeader.Size}");
        }

        if (phoff > (ulong)file.Length || (ulong)phnum * phentsize > (ulong)file.Length - phoff)
        {
            throw Bad(name, $"truncated: program headers at 0x{phoff:x} ({phnum} x {phentsize} bytes) run past the end of the {file.Length}-byte file");
        }

        var segments = new List<ElfSegment>();
        ulong? pvhEntry = null;
        for (int i = 0; i < phnum; i++)
        {
            var ph = span.Slice((int)phoff + (i * Elf64ProgramHeader.Size), Elf64ProgramHeader.Size);
            uint ptype = U32(ph, Elf64ProgramHeader.TypeOffset);
            ulong offset = U64(ph, Elf64ProgramHeader.OffsetOffset);
            ulong filesz = U64(ph, Elf64ProgramHeader.FileSizeOffset);
            if (ptype is not (Elf64ProgramHeader.PtLoad or Elf64ProgramHeader.PtNote))
            {
                continue;
            }

            if (offset > (ulong)file.Length || filesz > (ulong)file.Length - offset)
            {
                throw Bad(name, $"truncated: segment {i} wants file bytes 0x{offset:x}+0x{filesz:x} of a {file.Length}-byte file");
            }

            if (ptype == Elf64ProgramHeader.PtNote)
            {
                pvhEntry ??= FindPvhEntry(span.Slice((int)offset, (int)filesz));
                continue;
            }

            ulong paddr = U64(ph, Elf64ProgramHeader.PAddrOffset);
            ulong memsz = U64(ph, Elf64ProgramHeader.MemSizeOffset);
            bool exec = (U32(ph, Elf64ProgramHeader.FlagsOffset) & Elf64ProgramHeader.PfX) != 0;
            if (filesz > memsz)
            {
                throw Bad(name, $"segment {i} has p_filesz 0x{filesz:x} larger than p_memsz 0x{memsz:x}");
            }

            if (memsz == 0)
            {
                continue;
            }

            if (paddr + memsz < paddr)
            {
                throw Bad(name, $"segment {i} at 0x{paddr:x} with p_memsz 0x{memsz:x} wraps around the address space");
            }

            var segment = new ElfSegment(paddr, offset, filesz, memsz, exec);
            foreach (var other in segments)
            {
                if (segment.PhysicalAddress < other.End && other.PhysicalAddress < segment.End)
                {
                    throw Bad(name, $"segment {i} [0x{segment.PhysicalAddress:x}, 0x{segment.End:x}) overlaps segment [0x{other.PhysicalAddress:x}, 0x{other.End:x})");
                }
            }

            segments.Add(segment);
        }

        if (segments.Count == 0)
        {
            throw Bad(name, "no PT_LOAD segment: nothing to load");
        }

        ulong entry = U64(span, Elf64Header.EntryOffset);
        if (!segments.Any(s => s.Executable && entry >= s.PhysicalAddress && entry < s.End))
        {
            throw Bad(name, $"entry point 0x{entry:x} is not inside an executable PT_LOAD segment");
        }

        return new ElfImage(name, file, entry, segments, pvhEntry);
    }

    /// <summary>Walks ELF notes (namesz, descsz, type, name, desc; 4-byte padded) for Xen's PHYS32_ENTRY.</summary>
    private static ulong? FindPvhEntry(ReadOnlySpan<byte> notes)
    {
        int at = 0;
        while (notes.Length - at >= 12)
        {
            uint namesz = U32(notes, at);
            uint descsz = U32(notes, at + 4);
            uint type = U32(notes, at + 8);
            ulong nameStart = (ulong)at + 12;
            ulong descStart = nameStart + Align4(namesz);
            ulong next = descStart + Align4(descsz);
            if (next > (ulong)notes.Length)
            {
                return null;
            }

            var noteName = notes.Slice((int)nameStart, (int)namesz);
            if (type == XenElfNote.Phys32Entry && namesz == 4 && noteName[..3].SequenceEqual("Xen"u8) && noteName[3] == 0)
            {
                var desc = notes.Slice((int)descStart, (int)descsz);

                // QEMU reads the descriptor of an ELF64 image as 64 bits; a 32-bit descriptor is what Linux emits.
                return descsz >= 8 ? U64(desc, 0) : descsz >= 4 ? U32(desc, 0) : null;
            }

            at = (int)next;
        }

        return null;
    }

    private static ulong Align4(uint value) => ((ulong)value + 3) & ~3UL;

    private static MachineConfigurationException Bad(string name, string problem) => new($"{name}: bad ELF image: {problem}");

    private static ushort U16(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt16LittleEndian(s[at..]);

    private static uint U32(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt32LittleEndian(s[at..]);

    private static ulong U64(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt64LittleEndian(s[at..]);
}
