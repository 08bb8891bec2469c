using System.Buffers.Binary;

namespace ManagedVmm.Machine.Tests.Boot;

/// <summary>Builds small ELF64 files for loader tests, one segment each unless told otherwise.</summary>
internal sealed class TestElf
{
    public byte Class { get; set; } = 2;

    public byte Data { get; set; } = 1;

    public ushort Type { get; set; } = 2;

    public ushort Machine { get; set; } = 62;

    public ulong Entry { get; set; } = 0x10_0000;

    public List<(uint Type, ulong PAddr, byte[] Bytes, ulong MemSize, uint Flags)> Segments { get; } = [];

    public static TestElf Simple(ulong address = 0x10_0000, int codeBytes = 16, ulong memSize = 0x2000)
    {
        var elf = new TestElf { Entry = address };
        var code = new byte[codeBytes];
        Array.Fill(code, (byte)0x90);
        elf.Segments.Add((1, address, code, memSize, 5));
        return elf;
    }

    public byte[] Build()
    {
        int phoff = 64;
        int dataStart = phoff + (56 * Segments.Count);
        int total = dataStart + Segments.Sum(s => s.Bytes.Length);
        var file = new byte[total];
        var s = file.AsSpan();
        s[0] = 0x7F;
        s[1] = (byte)'E';
        s[2] = (byte)'L';
        s[3] = (byte)'F';
        s[4] = Class;
        s[5] = Data;
        s[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], Type);
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], Machine);
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], Entry);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], (ulong)phoff);
        BinaryPrimitives.WriteUInt16LittleEndian(s[52..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(s[54..], 56);
        BinaryPrimitives.WriteUInt16LittleEndian(s[56..], (ushort)Segments.Count);
        int data = dataStart;
        for (int i = 0; i < Segments.Count; i++)
        {
            var (type, paddr, bytes, memSize, flags) = Segments[i];
            var ph = s.Slice(phoff + (56 * i), 56);
            BinaryPrimitives.WriteUInt32LittleEndian(ph, type);
            BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], flags);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], (ulong)data);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], paddr);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], paddr);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)bytes.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], memSize);
            bytes.CopyTo(s[data..]);
            data += bytes.Length;
        }

        return file;
    }

    /// <summary>A PT_NOTE body holding Xen's PHYS32_ENTRY with a descriptor of <paramref name="descSize"/> bytes.</summary>
    public static byte[] PvhNote(ulong entry, int descSize)
    {
        var note = new byte[12 + 4 + ((descSize + 3) & ~3)];
        BinaryPrimitives.WriteUInt32LittleEndian(note, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(4), (uint)descSize);
        BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(8), 18);
        "Xen\0"u8.CopyTo(note.AsSpan(12));
        if (descSize == 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(note.AsSpan(16), entry);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(16), (uint)entry);
        }

        return note;
    }
}
