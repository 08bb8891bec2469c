using ManagedVmm.Core.Buses;

namespace ManagedVmm.Pci;

/// <summary>
/// One BAR made of several register windows (device registers, MSI-X table, PBA, virtio structures).
/// Offsets nobody claims are reserved: they read as zero and ignore writes, as PCI expects of a BAR's
/// unused space. An access that straddles two windows is split into bytes.
/// </summary>
public sealed class MmioRegionRouter : IMmioDevice
{
    private readonly AddressRangeMap<IMmioDevice> _windows = new();

    /// <summary>Places <paramref name="window"/> at <c>[offset, offset+length)</c> of the BAR.</summary>
    public MmioRegionRouter Map(ulong offset, ulong length, IMmioDevice window, string name)
    {
        if (!_windows.TryAdd(offset, length, window, name, out string? conflict))
        {
            Core.ThrowHelper.ThrowInvalidOperation($"BAR window {name} at 0x{offset:x} overlaps {conflict}");
        }

        return this;
    }

    public ReadOnlySpan<AddressRangeMap<IMmioDevice>.Entry> Windows => _windows.Entries;

    public void Read(ulong offset, Span<byte> data)
    {
        if (_windows.TryFind(offset, out var e) && (ulong)(data.Length - 1) <= e.Last - offset)
        {
            e.Device.Read(offset - e.Start, data);
            return;
        }

        for (int i = 0; i < data.Length; i++)
        {
            ulong at = offset + (ulong)i;
            if (_windows.TryFind(at, out e))
            {
                e.Device.Read(at - e.Start, data.Slice(i, 1));
            }
            else
            {
                data[i] = 0;
            }
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (_windows.TryFind(offset, out var e) && (ulong)(data.Length - 1) <= e.Last - offset)
        {
            e.Device.Write(offset - e.Start, data);
            return;
        }

        for (int i = 0; i < data.Length; i++)
        {
            ulong at = offset + (ulong)i;
            if (_windows.TryFind(at, out e))
            {
                e.Device.Write(at - e.Start, data.Slice(i, 1));
            }
        }
    }
}
