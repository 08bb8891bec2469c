using System.Buffers.Binary;
using ManagedVmm.Machine.Acpi.Spec;

namespace ManagedVmm.Machine.Acpi;

/// <summary>The tables laid out for one base address: the bytes to copy, and where each table lands.</summary>
public sealed record AcpiTableSet(ulong BaseAddress, byte[] Image, byte[] Rsdp, ulong RsdpAddress, IReadOnlyDictionary<string, ulong> TableAddresses);

/// <summary>
/// Builds the machine's ACPI tables (ARCHITECTURE §3): RSDP (revision 2) → XSDT → MADT, MCFG and, when an
/// IOMMU exists, VIOT. No FADT/DSDT: the platform has no ACPI hardware (no PM timer, no SCI, no AML devices)
/// and our guests find everything they need through these four tables; an OS that insists on a FADT is not a
/// guest this machine boots. With no IOMMU there is no VIOT at all (an empty VIOT would tell Linux to request
/// ACS for nothing).
/// </summary>
public static class AcpiTableBuilder
{
    /// <summary>Tables start 16-byte aligned (the RSDP must be; the others are aligned for readability of dumps).</summary>
    public const int TableAlignment = 16;

    /// <summary>Lays out every table from <paramref name="baseAddress"/>: RSDP first, then XSDT and the tables it lists.</summary>
    public static AcpiTableSet Build(AcpiPlatformDescription platform, ulong baseAddress)
    {
        var tables = new List<(string Signature, byte[] Bytes)>
        {
            (AcpiTableSignature.Madt, BuildMadt(platform)),
            (AcpiTableSignature.Mcfg, BuildMcfg(platform)),
        };
        if (platform.Iommus.Count > 0)
        {
            tables.Add((AcpiTableSignature.Viot, ViotTableBuilder.Build(platform.Iommus)));
        }

        int offset = Align(Spec.Rsdp.Length);
        int xsdtOffset = offset;
        int xsdtLength = AcpiHeader.Size + (8 * tables.Count);
        offset = Align(xsdtOffset + xsdtLength);
        var addresses = new Dictionary<string, ulong>(StringComparer.Ordinal) { [AcpiTableSignature.Xsdt] = baseAddress + (ulong)xsdtOffset };
        var offsets = new int[tables.Count];
        var xsdtBody = new byte[8 * tables.Count];
        for (int i = 0; i < tables.Count; i++)
        {
            offsets[i] = offset;
            ulong address = baseAddress + (ulong)offset;
            addresses[tables[i].Signature] = address;
            BinaryPrimitives.WriteUInt64LittleEndian(xsdtBody.AsSpan(8 * i), address);
            offset = Align(offset + tables[i].Bytes.Length);
        }

        var image = new byte[offset];
        var rsdp = AcpiTable.CreateRsdp(baseAddress + (ulong)xsdtOffset);
        rsdp.CopyTo(image, 0);
        AcpiTable.Create(AcpiTableSignature.Xsdt, AcpiTableSignature.XsdtRevision, xsdtBody).CopyTo(image, xsdtOffset);
        for (int i = 0; i < tables.Count; i++)
        {
            tables[i].Bytes.CopyTo(image, offsets[i]);
        }

        return new AcpiTableSet(baseAddress, image, rsdp, baseAddress, addresses);
    }

    /// <summary>MADT: the local APIC address and one enabled Processor Local APIC entry per vCPU (UID = APIC ID = index).</summary>
    public static byte[] BuildMadt(AcpiPlatformDescription platform)
    {
        int count = platform.CpuCount;
        if (count is < 1 or > 255)
        {
            throw new MachineConfigurationException($"{count} vCPUs cannot be described with xAPIC IDs (1-255)");
        }

        var body = new byte[(Madt.EntriesOffset - AcpiHeader.Size) + (Madt.LocalApicLength * count)];
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(Madt.LocalApicAddressOffset - AcpiHeader.Size), (uint)platform.LocalApicAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(Madt.FlagsOffset - AcpiHeader.Size), 0);
        for (int cpu = 0; cpu < count; cpu++)
        {
            var entry = body.AsSpan((Madt.EntriesOffset - AcpiHeader.Size) + (Madt.LocalApicLength * cpu), Madt.LocalApicLength);
            entry[0] = Madt.LocalApicType;
            entry[1] = Madt.LocalApicLength;
            entry[2] = (byte)cpu;
            entry[3] = (byte)cpu;
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], Madt.LocalApicEnabled);
        }

        return AcpiTable.Create(AcpiTableSignature.Madt, AcpiTableSignature.MadtRevision, body);
    }

    /// <summary>MCFG: one allocation, segment 0, the ECAM base and bus range.</summary>
    public static byte[] BuildMcfg(AcpiPlatformDescription platform)
    {
        var body = new byte[(Mcfg.EntriesOffset - AcpiHeader.Size) + Mcfg.EntrySize];
        var entry = body.AsSpan(Mcfg.EntriesOffset - AcpiHeader.Size);
        BinaryPrimitives.WriteUInt64LittleEndian(entry, platform.EcamBase);
        BinaryPrimitives.WriteUInt16LittleEndian(entry[8..], 0);
        entry[10] = platform.EcamStartBus;
        entry[11] = platform.EcamEndBus;
        return AcpiTable.Create(AcpiTableSignature.Mcfg, AcpiTableSignature.McfgRevision, body);
    }

    private static int Align(int value) => (value + TableAlignment - 1) & ~(TableAlignment - 1);
}
