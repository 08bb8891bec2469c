using ManagedVmm.Core.Memory;

namespace ManagedVmm.Core.Dma;

/// <summary>
/// The machine's DMA seam: a requester covered by an IOMMU gets a translating view; anyone else gets RAM as it
/// is (identity). Devices never learn which. Views are made once per requester.
/// </summary>
public sealed class DmaMemoryProvider : IDmaMemoryProvider
{
    private readonly IGuestMemory _ram;
    private readonly IReadOnlyList<IDmaTranslator> _translators;
    private readonly Dictionary<ushort, IGuestMemoryView> _views = [];

    public DmaMemoryProvider(IGuestMemory ram, IEnumerable<IDmaTranslator> translators)
    {
        _ram = ram;
        _translators = [.. translators];
    }

    public IGuestMemoryView ForRequester(Bdf requester)
    {
        if (_views.TryGetValue(requester.RequesterId, out var view))
        {
            return view;
        }

        view = new IdentityView(_ram);
        foreach (var translator in _translators)
        {
            if (translator.Covers(requester))
            {
                view = new TranslatingGuestMemory(_ram, translator, requester, translator.ToString() ?? "iommu");
                break;
            }
        }

        _views[requester.RequesterId] = view;
        return view;
    }

    private sealed class IdentityView(IGuestMemory ram) : IGuestMemoryView
    {
        public string Description => "identity (no IOMMU)";

        public bool TryRead(ulong address, Span<byte> destination) => ram.TryRead(address, destination);

        public bool TryWrite(ulong address, ReadOnlySpan<byte> source) => ram.TryWrite(address, source);
    }
}
