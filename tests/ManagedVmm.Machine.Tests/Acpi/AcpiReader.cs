using System.Buffers.Binary;
using System.Text;
using ManagedVmm.Core.Memory;

namespace ManagedVmm.Machine.Tests.Acpi;

/// <summary>Finds and reads ACPI tables in guest memory the way a guest does: scan for the RSDP, follow the XSDT.</summary>
internal sealed class AcpiReader
{
    private readonly IGuestMemory _memory;

    public AcpiReader(IGuestMemory memory) => _memory = memory;

    /// <summary>The standard scan: 16-byte boundaries of 0xE0000–0xFFFFF, signature plus a valid 20-byte checksum.</summary>
    public ulong? ScanForRsdp()
    {
        for (ulong a = 0xE0000; a < 0x100000; a += 16)
        {
            var head = Read(a, 20);
            if (Encoding.ASCII.GetString(head, 0, 8) == "RSD PTR " && Sum(head) == 0)
            {
                return a;
            }
        }

        return null;
    }

    public byte[] Read(ulong address, int length)
    {
        var b = new byte[length];
        Assert.That(_memory.TryRead(address, b), Is.True, $"0x{address:x} readable");
        return b;
    }

    public byte[] Table(ulong address)
    {
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(Read(address + 4, 4));
        Assert.That(length, Is.InRange(36u, 0x10000u));
        return Read(address, (int)length);
    }

    /// <summary>Signature → table bytes, for every table the XSDT lists.</summary>
    public Dictionary<string, byte[]> TablesFromXsdt(byte[] xsdt)
    {
        var result = new Dictionary<string, byte[]>();
        for (int at = 36; at < xsdt.Length; at += 8)
        {
            var table = Table(BinaryPrimitives.ReadUInt64LittleEndian(xsdt.AsSpan(at)));
            result[Encoding.ASCII.GetString(table, 0, 4)] = table;
        }

        return result;
    }

    public static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte s = 0;
        foreach (byte b in bytes)
        {
            s += b;
        }

        return s;
    }
}
