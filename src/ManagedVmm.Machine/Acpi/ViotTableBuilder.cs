using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Machine.Acpi.Spec;

namespace ManagedVmm.Machine.Acpi;

/// <summary>
/// The VIOT (reference linux-guest-driver.md §4): one VIRTIO_IOMMU_PCI node per IOMMU, then PCI_RANGE nodes
/// for the endpoints it translates. Endpoint ID = requester ID, so every range has
/// <c>endpoint_start = bdf_start</c>. A range spans consecutive requester IDs on bus 0 that are either
/// translated endpoints or hold no function; it never covers a placed function the IOMMU does not translate
/// (itself included), and it starts and ends on a translated endpoint.
/// </summary>
public static class ViotTableBuilder
{
    public static byte[] Build(IReadOnlyList<ViotIommu> iommus)
    {
        var ranges = new List<(int Iommu, ushort Start, ushort End)>();
        for (int i = 0; i < iommus.Count; i++)
        {
            foreach (var (start, end) in Ranges(iommus[i]))
            {
                ranges.Add((i, start, end));
            }
        }

        int nodeCount = iommus.Count + ranges.Count;
        int bodyLength = (Viot.NodesStart - AcpiHeader.Size) + (iommus.Count * Viot.VirtioIommuPciLength) + (ranges.Count * Viot.PciRangeLength);
        var body = new byte[bodyLength];
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(Viot.NodeCountOffset - AcpiHeader.Size), (ushort)nodeCount);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(Viot.NodeOffsetOffset - AcpiHeader.Size), Viot.NodesStart);
        int offset = Viot.NodesStart;
        var iommuOffsets = new ushort[iommus.Count];
        for (int i = 0; i < iommus.Count; i++)
        {
            iommuOffsets[i] = (ushort)offset;
            var node = body.AsSpan(offset - AcpiHeader.Size, Viot.VirtioIommuPciLength);
            node[0] = Viot.VirtioIommuPciType;
            BinaryPrimitives.WriteUInt16LittleEndian(node[2..], Viot.VirtioIommuPciLength);
            BinaryPrimitives.WriteUInt16LittleEndian(node[4..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(node[6..], iommus[i].Address.RequesterId);
            offset += Viot.VirtioIommuPciLength;
        }

        foreach (var (iommu, start, end) in ranges)
        {
            var node = body.AsSpan(offset - AcpiHeader.Size, Viot.PciRangeLength);
            node[0] = Viot.PciRangeType;
            BinaryPrimitives.WriteUInt16LittleEndian(node[2..], Viot.PciRangeLength);
            BinaryPrimitives.WriteUInt32LittleEndian(node[4..], start);
            BinaryPrimitives.WriteUInt16LittleEndian(node[8..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(node[10..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(node[12..], start);
            BinaryPrimitives.WriteUInt16LittleEndian(node[14..], end);
            BinaryPrimitives.WriteUInt16LittleEndian(node[16..], iommuOffsets[iommu]);
            offset += Viot.PciRangeLength;
        }

        return AcpiTable.Create(AcpiTableSignature.Viot, AcpiTableSignature.ViotRevision, body);
    }

    /// <summary>The requester-ID ranges of one IOMMU's endpoints, merged across addresses that hold no function.</summary>
    public static IEnumerable<(ushort Start, ushort End)> Ranges(ViotIommu iommu)
    {
        var endpoints = new HashSet<ushort>();
        foreach (var e in iommu.Endpoints)
        {
            endpoints.Add(e.RequesterId);
        }

        var blocked = new HashSet<ushort> { iommu.Address.RequesterId };
        foreach (var b in iommu.Blocked)
        {
            blocked.Add(b.RequesterId);
        }

        int start = -1;
        int lastEndpoint = -1;
        for (int id = 0; id <= ushort.MaxValue; id++)
        {
            ushort rid = (ushort)id;
            if (endpoints.Contains(rid) && !blocked.Contains(rid))
            {
                if (start < 0)
                {
                    start = id;
                }

                lastEndpoint = id;
            }
            else if (blocked.Contains(rid) && start >= 0)
            {
                yield return ((ushort)start, (ushort)lastEndpoint);
                start = -1;
            }
        }

        if (start >= 0)
        {
            yield return ((ushort)start, (ushort)lastEndpoint);
        }
    }
}
