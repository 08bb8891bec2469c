using System.Buffers.Binary;
using System.Text;
using ManagedVmm.Machine.Acpi.Spec;

namespace ManagedVmm.Machine.Acpi;

/// <summary>Small helpers shared by the table builders: the common header and the byte checksum.</summary>
public static class AcpiTable
{
    /// <summary>OEM ID written in every header and the RSDP (6 bytes, space padded).</summary>
    public const string OemId = "MVMM  ";

    public const string OemTableId = "MANAGEDV";

    public const string CreatorId = "MVMM";

    public const uint OemRevision = 1;

    public const uint CreatorRevision = 1;

    /// <summary>Builds a table: the header with <paramref name="signature"/>, then <paramref name="body"/>, checksummed.</summary>
    public static byte[] Create(string signature, byte revision, ReadOnlySpan<byte> body)
    {
        var table = new byte[AcpiHeader.Size + body.Length];
        Encoding.ASCII.GetBytes(signature, table.AsSpan(AcpiHeader.SignatureOffset, 4));
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(AcpiHeader.LengthOffset), (uint)table.Length);
        table[AcpiHeader.RevisionOffset] = revision;
        Encoding.ASCII.GetBytes(OemId, table.AsSpan(AcpiHeader.OemIdOffset, 6));
        Encoding.ASCII.GetBytes(OemTableId, table.AsSpan(AcpiHeader.OemTableIdOffset, 8));
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(AcpiHeader.OemRevisionOffset), OemRevision);
        Encoding.ASCII.GetBytes(CreatorId, table.AsSpan(AcpiHeader.CreatorIdOffset, 4));
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(AcpiHeader.CreatorRevisionOffset), CreatorRevision);
        body.CopyTo(table.AsSpan(AcpiHeader.Size));
        table[AcpiHeader.ChecksumOffset] = Checksum(table);
        return table;
    }

    /// <summary>The byte that makes <paramref name="bytes"/> sum to zero modulo 256 (its own slot must hold 0).</summary>
    public static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return (byte)(0 - sum);
    }

    /// <summary>True when <paramref name="bytes"/> sum to zero modulo 256.</summary>
    public static bool IsChecksumValid(ReadOnlySpan<byte> bytes) => Checksum(bytes) == 0;

    /// <summary>The RSDP (revision 2) pointing at the XSDT, with both checksums.</summary>
    public static byte[] CreateRsdp(ulong xsdtAddress)
    {
        var rsdp = new byte[Rsdp.Length];
        Encoding.ASCII.GetBytes(Rsdp.Signature, rsdp.AsSpan(Rsdp.SignatureOffset, 8));
        Encoding.ASCII.GetBytes(OemId, rsdp.AsSpan(Rsdp.OemIdOffset, 6));
        rsdp[Rsdp.RevisionOffset] = Rsdp.Revision;
        BinaryPrimitives.WriteUInt32LittleEndian(rsdp.AsSpan(Rsdp.LengthOffset), Rsdp.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(rsdp.AsSpan(Rsdp.XsdtAddressOffset), xsdtAddress);
        rsdp[Rsdp.ChecksumOffset] = Checksum(rsdp.AsSpan(0, Rsdp.V1Length));
        rsdp[Rsdp.ExtendedChecksumOffset] = Checksum(rsdp);
        return rsdp;
    }
}
