using System.Runtime.InteropServices;
using ManagedVmm.Core.Memory;
using ManagedVmm.Devices.Nvme.Spec;

namespace ManagedVmm.Devices.Nvme;

/// <summary>One contiguous piece of a command's data buffer, in the device's (IOVA) address space.</summary>
public readonly record struct DmaSegment(ulong Address, int Length);

/// <summary>
/// Turns a command's PRP1/PRP2 into data segments (NVMe 1.4 §4.3; reference nvme.md §5): PRP1 may carry an
/// offset; a second page is PRP2 itself; more pages need a PRP list at PRP2, which may start at an offset and
/// chains through its last slot. Every entry other than PRP1 and the list pointer must be page aligned
/// (Invalid PRP Offset); a list that cannot be read is a Data Transfer Error. The walk is bounded by the
/// segment array: a transfer needs at most length/page + 1 segments and each list page yields at least one.
/// </summary>
internal sealed class PrpWalker
{
    private readonly ulong[] _listPage;

    public PrpWalker(int maxSegments, int pageSize)
    {
        Segments = new DmaSegment[maxSegments];
        PageSize = pageSize;
        _listPage = new ulong[pageSize / 8];
    }

    public DmaSegment[] Segments { get; }

    public int PageSize { get; }

    /// <summary>PRP list reads that faulted since power-on (a DMA fault statistic).</summary>
    public long ListFaults { get; private set; }

    /// <summary>Fills <see cref="Segments"/>; returns the status (Success) and the number of segments.</summary>
    public ushort Walk(IGuestMemory dma, ulong prp1, ulong prp2, int length, out int count)
    {
        count = 0;
        if (length == 0)
        {
            return NvmeStatus.Success;
        }

        ulong pageMask = (ulong)PageSize - 1;
        if ((prp1 & 3) != 0)
        {
            return NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr;
        }

        int first = (int)Math.Min((ulong)length, (ulong)PageSize - (prp1 & pageMask));
        Segments[count++] = new DmaSegment(prp1, first);
        int left = length - first;
        if (left == 0)
        {
            return NvmeStatus.Success;
        }

        if (left <= PageSize)
        {
            if ((prp2 & pageMask) != 0)
            {
                return NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr;
            }

            Segments[count++] = new DmaSegment(prp2, left);
            return NvmeStatus.Success;
        }

        // PRP2 is a list pointer: dword aligned, may carry an offset into its first page.
        ulong list = prp2;
        if ((list & 7) != 0)
        {
            return NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr;
        }

        int pagesNeeded = (left + PageSize - 1) / PageSize;
        while (pagesNeeded > 0)
        {
            int slots = (int)(((ulong)PageSize - (list & pageMask)) / 8);
            bool chains = pagesNeeded > slots;
            int read = chains ? slots : pagesNeeded;
            var entries = _listPage.AsSpan(0, read);
            if (!dma.TryRead(list, MemoryMarshal.AsBytes(entries)))
            {
                ListFaults++;
                return NvmeStatus.DataTransferError;
            }

            int data = chains ? read - 1 : read;
            if (count + data > Segments.Length)
            {
                // More pages than the transfer length can use: the caller checked MDTS, so this is a malformed list.
                return NvmeStatus.InvalidField | NvmeStatus.Dnr;
            }

            for (int i = 0; i < data; i++)
            {
                ulong entry = entries[i];
                if ((entry & pageMask) != 0)
                {
                    return NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr;
                }

                int n = Math.Min(left, PageSize);
                Segments[count++] = new DmaSegment(entry, n);
                left -= n;
            }

            pagesNeeded -= data;
            if (chains)
            {
                ulong next = entries[read - 1];
                if ((next & pageMask) != 0)
                {
                    return NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr;
                }

                if (data == 0 && (list & pageMask) == 0)
                {
                    // A whole list page of one pointer cannot happen with page ≥ 16 B; guard anyway.
                    return NvmeStatus.InvalidField | NvmeStatus.Dnr;
                }

                list = next;
            }
        }

        return NvmeStatus.Success;
    }
}
