using System.Buffers.Binary;
using System.Text;

namespace ManagedVmm.Machine.Boot;

/// <summary>
/// The boot-info block (ARCHITECTURE §3, contract): little-endian, at the address the vCPU receives in RDI.
/// <code>
/// +0  u32 magic = 0x4D564D42 ("BMVM")   +4  u32 version = 1
/// +8  u64 rsdp                          +16 u64 cmdline (0 if none)
/// +24 u64 payload_entry                 +32 u64 tsc_hz
/// +40 u32 mmap_count                    +44 u32 reserved
/// +48 u64 mmap (→ mmap_count entries of {u64 base, u64 length, u32 type, u32 reserved})
/// </code>
/// Fields may be added after these, never moved; <see cref="Size"/> bytes are reserved for the block.
/// </summary>
public sealed record BootInfo(ulong Rsdp, ulong CommandLine, ulong PayloadEntry, ulong TscHz, IReadOnlyList<MemoryMapEntry> MemoryMap, ulong MemoryMapAddress)
{
    public const uint Magic = 0x4D56_4D42;

    public const uint Version = 1;

    public const int MagicOffset = 0;
    public const int VersionOffset = 4;
    public const int RsdpOffset = 8;
    public const int CommandLineOffset = 16;
    public const int PayloadEntryOffset = 24;
    public const int TscHzOffset = 32;
    public const int MemoryMapCountOffset = 40;
    public const int ReservedOffset = 44;
    public const int MemoryMapOffset = 48;

    /// <summary>Bytes reserved for the block (56 used; room for fields added later).</summary>
    public const int Size = 64;

    /// <summary>The block's bytes.</summary>
    public byte[] ToBytes()
    {
        var b = new byte[Size];
        var s = b.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s[MagicOffset..], Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(s[VersionOffset..], Version);
        BinaryPrimitives.WriteUInt64LittleEndian(s[RsdpOffset..], Rsdp);
        BinaryPrimitives.WriteUInt64LittleEndian(s[CommandLineOffset..], CommandLine);
        BinaryPrimitives.WriteUInt64LittleEndian(s[PayloadEntryOffset..], PayloadEntry);
        BinaryPrimitives.WriteUInt64LittleEndian(s[TscHzOffset..], TscHz);
        BinaryPrimitives.WriteUInt32LittleEndian(s[MemoryMapCountOffset..], (uint)MemoryMap.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[ReservedOffset..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(s[MemoryMapOffset..], MemoryMapAddress);
        return b;
    }

    /// <summary>The memory map's bytes (24 per entry).</summary>
    public byte[] MemoryMapBytes()
    {
        var b = new byte[MemoryMap.Count * MemoryMapEntry.Size];
        for (int i = 0; i < MemoryMap.Count; i++)
        {
            var s = b.AsSpan(i * MemoryMapEntry.Size);
            BinaryPrimitives.WriteUInt64LittleEndian(s, MemoryMap[i].Base);
            BinaryPrimitives.WriteUInt64LittleEndian(s[8..], MemoryMap[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(s[16..], (uint)MemoryMap[i].Type);
            BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 0);
        }

        return b;
    }

    /// <summary>A command line as the guest receives it: ASCII/UTF-8 bytes and a NUL; refused if too long or if it holds a NUL.</summary>
    public static byte[] CommandLineBytes(string commandLine)
    {
        if (commandLine.Contains('\0', StringComparison.Ordinal))
        {
            throw new MachineConfigurationException("the command line must not contain a NUL character");
        }

        var bytes = new byte[Encoding.UTF8.GetByteCount(commandLine) + 1];
        Encoding.UTF8.GetBytes(commandLine, bytes);
        if (bytes.Length > BootLayout.CommandLineCapacity)
        {
            throw new MachineConfigurationException(
                $"the command line is {bytes.Length - 1} bytes; at most {BootLayout.CommandLineCapacity - 1} fit");
        }

        return bytes;
    }
}
