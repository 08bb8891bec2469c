using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ManagedVmm.Core.Memory;

/// <summary>
/// Guest RAM: one block of native memory (so its size is not limited by a .NET array, and untouched pages cost
/// nothing: the OS hands out zero pages on first use) placed at one or more guest-physical regions. On the q35
/// map RAM above <c>0xB000_0000</c> continues at 4 GiB; the machine passes both regions here.
/// <para>
/// Writes to pages marked with <see cref="WatchPage"/> raise <see cref="WatchedPageWritten"/>: the vCPU
/// watches pages that hold decoded instructions so that a write by the CPU or by device DMA invalidates them.
/// </para>
/// </summary>
public sealed unsafe class GuestRam : IGuestMemory, IDisposable
{
    public const int PageShift = 12;

    private readonly RamRegion[] _regions;
    private readonly ulong[] _regionOffsets;
    private readonly ulong[] _watchBits;
    private byte* _base;
    private long _watchedCount;

    public GuestRam(IReadOnlyList<RamRegion> regions)
    {
        if (regions.Count == 0)
        {
            ThrowHelper.ThrowArgument(nameof(regions), "guest RAM needs at least one region");
        }

        _regions = [.. regions];
        _regionOffsets = new ulong[_regions.Length];
        ulong total = 0;
        for (int i = 0; i < _regions.Length; i++)
        {
            var r = _regions[i];
            if (r.Size == 0 || (r.GuestBase & 0xFFF) != 0 || (r.Size & 0xFFF) != 0 || r.GuestBase + r.Size < r.GuestBase)
            {
                ThrowHelper.ThrowArgument(nameof(regions), $"RAM region {r} must be non-empty and 4 KiB aligned");
            }

            for (int j = 0; j < i; j++)
            {
                if (r.GuestBase < _regions[j].End && _regions[j].GuestBase < r.End)
                {
                    ThrowHelper.ThrowArgument(nameof(regions), $"RAM regions {r} and {_regions[j]} overlap");
                }
            }

            _regionOffsets[i] = total;
            total += r.Size;
        }

        Size = total;
        _base = (byte*)NativeMemory.AllocZeroed((nuint)total);
        _watchBits = new ulong[(total >> PageShift) / 64 + 1];
    }

    /// <summary>Flat RAM from guest-physical 0, for tests and simple machines.</summary>
    public static GuestRam CreateFlat(ulong size) => new([new RamRegion(0, size)]);

    /// <summary>Total bytes of RAM.</summary>
    public ulong Size { get; }

    public IReadOnlyList<RamRegion> Regions => _regions;

    /// <summary>Raised (with the guest-physical address of the page) when a watched page is written.</summary>
    public event Action<ulong>? WatchedPageWritten;

    public bool TryRead(ulong address, Span<byte> destination)
    {
        if (!TryGetSpan(address, destination.Length, out var source))
        {
            return false;
        }

        source.CopyTo(destination);
        return true;
    }

    public bool TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        if (!TryGetSpan(address, source.Length, out var target))
        {
            return false;
        }

        source.CopyTo(target);
        if (_watchedCount != 0)
        {
            NotifyWrite(address, (ulong)source.Length);
        }

        return true;
    }

    /// <summary>
    /// The host bytes behind <c>[address, address+length)</c> when all of it is RAM in one region.
    /// A caller that writes through the span must call <see cref="NotifyWrite"/> afterwards.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetSpan(ulong address, int length, out Span<byte> span)
    {
        for (int i = 0; i < _regions.Length; i++)
        {
            ulong rel = address - _regions[i].GuestBase;
            if (address >= _regions[i].GuestBase && rel < _regions[i].Size && (ulong)length <= _regions[i].Size - rel)
            {
                span = new Span<byte>(_base + _regionOffsets[i] + rel, length);
                return true;
            }
        }

        span = default;
        return false;
    }

    /// <summary>True when <paramref name="address"/> is backed by RAM.</summary>
    public bool Contains(ulong address) => TryGetSpan(address, 1, out _);

    /// <summary>Marks the page holding <paramref name="address"/> so that writes to it are reported.</summary>
    public void WatchPage(ulong address)
    {
        if (TryOffset(address, out ulong offset))
        {
            ulong page = offset >> PageShift;
            ref ulong word = ref _watchBits[page / 64];
            ulong bit = 1UL << (int)(page % 64);
            if ((word & bit) == 0)
            {
                word |= bit;
                _watchedCount++;
            }
        }
    }

    /// <summary>Stops reporting writes to every page.</summary>
    public void UnwatchAll()
    {
        Array.Clear(_watchBits);
        _watchedCount = 0;
    }

    public bool HasWatchedPages => _watchedCount != 0;

    /// <summary>Reports a write of <paramref name="length"/> bytes at <paramref name="address"/> to watchers.</summary>
    public void NotifyWrite(ulong address, ulong length)
    {
        if (_watchedCount == 0 || length == 0 || !TryOffset(address, out ulong offset))
        {
            return;
        }

        ulong firstPage = offset >> PageShift;
        ulong lastPage = (offset + length - 1) >> PageShift;
        for (ulong page = firstPage; page <= lastPage; page++)
        {
            ref ulong word = ref _watchBits[page / 64];
            ulong bit = 1UL << (int)(page % 64);
            if ((word & bit) != 0)
            {
                word &= ~bit;
                _watchedCount--;
                WatchedPageWritten?.Invoke((address & ~0xFFFUL) + ((page - firstPage) << PageShift));
            }
        }
    }

    private bool TryOffset(ulong address, out ulong offset)
    {
        for (int i = 0; i < _regions.Length; i++)
        {
            if (_regions[i].Contains(address))
            {
                offset = _regionOffsets[i] + (address - _regions[i].GuestBase);
                return true;
            }
        }

        offset = 0;
        return false;
    }

    public void Dispose()
    {
        if (_base != null)
        {
            NativeMemory.Free(_base);
            _base = null;
        }
    }
}
