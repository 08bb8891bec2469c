using ManagedVmm.Core.Memory;

namespace ManagedVmm.Core.Dma;

/// <summary>
/// A requester's DMA view behind an IOMMU: every access is translated IOVA → GPA, possibly in several pieces
/// when it spans adjacent mappings. A write is translated completely before any byte is written, so a write
/// that faults part-way changes nothing.
/// </summary>
public sealed class TranslatingGuestMemory : IGuestMemoryView
{
    /// <summary>Pieces a write may be split into and still be checked up front without allocating.</summary>
    private const int MaxPrecheckedPieces = 16;

    private readonly IGuestMemory _ram;
    private readonly IDmaTranslator _translator;
    private readonly Bdf _requester;

    public TranslatingGuestMemory(IGuestMemory ram, IDmaTranslator translator, Bdf requester, string iommuName)
    {
        _ram = ram;
        _translator = translator;
        _requester = requester;
        Description = $"translated by {iommuName}";
    }

    public string Description { get; }

    public bool TryRead(ulong address, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            var t = _translator.Translate(_requester, address + (ulong)done, (ulong)(destination.Length - done), DmaAccess.Read);
            if (t.IsFault || t.Length == 0)
            {
                return false;
            }

            int piece = (int)Math.Min(t.Length, (ulong)(destination.Length - done));
            if (!_ram.TryRead(t.Address, destination.Slice(done, piece)))
            {
                return false;
            }

            done += piece;
        }

        return true;
    }

    public bool TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        Span<DmaTranslation> pieces = stackalloc DmaTranslation[MaxPrecheckedPieces];
        int count = 0;
        int done = 0;
        while (done < source.Length && count < MaxPrecheckedPieces)
        {
            var t = _translator.Translate(_requester, address + (ulong)done, (ulong)(source.Length - done), DmaAccess.Write);
            if (t.IsFault || t.Length == 0)
            {
                return false;
            }

            int piece = (int)Math.Min(t.Length, (ulong)(source.Length - done));
            pieces[count++] = DmaTranslation.To(t.Address, (ulong)piece);
            done += piece;
        }

        if (done < source.Length)
        {
            // More pieces than we check up front: fall back to piece-by-piece writes (a write spanning 16+
            // mappings is unusual; each piece is still translated and permission-checked).
            return WritePieces(pieces, source[..done]) && TryWrite(address + (ulong)done, source[done..]);
        }

        return WritePieces(pieces[..count], source);
    }

    private bool WritePieces(ReadOnlySpan<DmaTranslation> pieces, ReadOnlySpan<byte> source)
    {
        int done = 0;
        foreach (var p in pieces)
        {
            if (!_ram.TryWrite(p.Address, source.Slice(done, (int)p.Length)))
            {
                return false;
            }

            done += (int)p.Length;
        }

        return true;
    }
}
