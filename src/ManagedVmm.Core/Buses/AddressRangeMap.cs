using System.Runtime.CompilerServices;

namespace ManagedVmm.Core.Buses;

/// <summary>
/// Non-overlapping address ranges, each owned by one device, with a binary-search lookup that allocates
/// nothing. Changes (rare: machine build and BAR moves) replace the sorted array; lookups (every access) only
/// read it. A one-entry cache catches the common case of the same device twice in a row.
/// </summary>
public sealed class AddressRangeMap<TDevice>
    where TDevice : class
{
    private Entry[] _entries = [];
    private int _lastHit = -1;

    /// <summary>The registered ranges, ordered by start address.</summary>
    public ReadOnlySpan<Entry> Entries => _entries;

    /// <summary>Adds <c>[start, start+length)</c>, or returns false with the name of the range it would overlap.</summary>
    public bool TryAdd(ulong start, ulong length, TDevice device, string name, out string? conflict)
    {
        conflict = null;
        if (length == 0 || start + (length - 1) < start)
        {
            conflict = "(empty or wrapping range)";
            return false;
        }

        ulong last = start + (length - 1);
        int insertAt = 0;
        while (insertAt < _entries.Length && _entries[insertAt].Start < start)
        {
            insertAt++;
        }

        if (insertAt > 0 && _entries[insertAt - 1].Last >= start)
        {
            conflict = _entries[insertAt - 1].Name;
            return false;
        }

        if (insertAt < _entries.Length && _entries[insertAt].Start <= last)
        {
            conflict = _entries[insertAt].Name;
            return false;
        }

        var next = new Entry[_entries.Length + 1];
        Array.Copy(_entries, next, insertAt);
        next[insertAt] = new Entry(start, last, device, name);
        Array.Copy(_entries, insertAt, next, insertAt + 1, _entries.Length - insertAt);
        _entries = next;
        _lastHit = -1;
        return true;
    }

    /// <summary>Removes the range that starts at <paramref name="start"/> and belongs to <paramref name="device"/>.</summary>
    public bool Remove(ulong start, TDevice device)
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            if (_entries[i].Start == start && ReferenceEquals(_entries[i].Device, device))
            {
                var next = new Entry[_entries.Length - 1];
                Array.Copy(_entries, next, i);
                Array.Copy(_entries, i + 1, next, i, _entries.Length - i - 1);
                _entries = next;
                _lastHit = -1;
                return true;
            }
        }

        return false;
    }

    /// <summary>Finds the range holding <paramref name="address"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFind(ulong address, out Entry entry)
    {
        var entries = _entries;
        int hit = _lastHit;
        if ((uint)hit < (uint)entries.Length && address >= entries[hit].Start && address <= entries[hit].Last)
        {
            entry = entries[hit];
            return true;
        }

        int lo = 0;
        int hi = entries.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (address < entries[mid].Start)
            {
                hi = mid - 1;
            }
            else if (address > entries[mid].Last)
            {
                lo = mid + 1;
            }
            else
            {
                _lastHit = mid;
                entry = entries[mid];
                return true;
            }
        }

        entry = default;
        return false;
    }

    /// <summary>One registered range; <see cref="Last"/> is inclusive so a range may end at the top of the space.</summary>
    public readonly record struct Entry(ulong Start, ulong Last, TDevice Device, string Name)
    {
        public ulong Length => Last - Start + 1;
    }
}
