using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Devices.VirtioIommu.Spec;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// The device configuration structure (virtio v1.2 §5.13.4, 40 bytes). Every field is read-only except
/// <c>bypass</c>, which the driver may write only once BYPASS_CONFIG is negotiated and only with 0 or 1. Reads of
/// any offset and width are served (before FEATURES_OK too, as §2.4 requires); bytes beyond the structure read 0.
/// <c>bypass</c> survives a device reset and returns to its initial value on a system reset (§5.13.4).
/// </summary>
public sealed class VirtioIommuConfigSpace
{
    private readonly byte[] _bytes = new byte[VirtioIommuConfigLayout.Size];
    private readonly byte _initialBypass;

    internal VirtioIommuConfigSpace(VirtioIommuOptions options)
    {
        PageSizeMask = options.EffectivePageSizeMask;
        Granule = options.EffectiveGranule;
        InputRangeStart = options.InputRangeStart;
        InputRangeEnd = options.InputRangeEnd;
        DomainRangeStart = options.DomainRangeStart;
        DomainRangeEnd = options.DomainRangeEnd;
        ProbeSize = options.ProbeSize;
        BypassOffered = (options.Features & VirtioIommuFeatures.BypassConfig) != 0;

        // bypass is only meaningful when BYPASS_CONFIG is offered; otherwise it is presented as 0.
        _initialBypass = BypassOffered && options.BootBypass ? (byte)1 : (byte)0;

        var b = _bytes.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(b[VirtioIommuConfigLayout.PageSizeMask..], PageSizeMask);
        BinaryPrimitives.WriteUInt64LittleEndian(b[VirtioIommuConfigLayout.InputRangeStart..], InputRangeStart);
        BinaryPrimitives.WriteUInt64LittleEndian(b[VirtioIommuConfigLayout.InputRangeEnd..], InputRangeEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(b[VirtioIommuConfigLayout.DomainRangeStart..], DomainRangeStart);
        BinaryPrimitives.WriteUInt32LittleEndian(b[VirtioIommuConfigLayout.DomainRangeEnd..], DomainRangeEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(b[VirtioIommuConfigLayout.ProbeSize..], ProbeSize);
        b[VirtioIommuConfigLayout.Bypass] = _initialBypass;
    }

    /// <summary>Size of the structure in bytes (the device-config capability's length).</summary>
    public int Size => VirtioIommuConfigLayout.Size;

    public ulong PageSizeMask { get; }

    /// <summary>The lowest set bit of <see cref="PageSizeMask"/>: the mapping granule.</summary>
    public ulong Granule { get; }

    public ulong InputRangeStart { get; }

    public ulong InputRangeEnd { get; }

    public uint DomainRangeStart { get; }

    public uint DomainRangeEnd { get; }

    public uint ProbeSize { get; }

    /// <summary>True when config <c>bypass</c> is 1 (unattached endpoints bypass, if BYPASS_CONFIG is offered).</summary>
    public bool Bypass => _bytes[VirtioIommuConfigLayout.Bypass] != 0;

    internal bool BypassOffered { get; }

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; any width and alignment, bytes
    /// past the structure read 0.
    /// </summary>
    public void Read(int offset, Span<byte> destination)
    {
        destination.Clear();
        if (offset < 0 || offset >= _bytes.Length)
        {
            return;
        }

        int n = Math.Min(destination.Length, _bytes.Length - offset);
        _bytes.AsSpan(offset, n).CopyTo(destination);
    }

    /// <summary>
    /// A driver write. Only the <c>bypass</c> byte is writable, only with BYPASS_CONFIG negotiated, only 0 or 1;
    /// anything else is ignored and returned as a guest-error message (null when the write was accepted).
    /// </summary>
    internal string? Write(int offset, ReadOnlySpan<byte> source, bool bypassConfigNegotiated, out bool bypassChanged)
    {
        bypassChanged = false;
        string? error = null;
        for (int i = 0; i < source.Length; i++)
        {
            long at = (long)offset + i;
            if (at != VirtioIommuConfigLayout.Bypass)
            {
                error ??= $"config write at 0x{at:x}: only bypass (0x{VirtioIommuConfigLayout.Bypass:x}) is writable";
                continue;
            }

            if (!bypassConfigNegotiated)
            {
                error ??= "config write to bypass without VIRTIO_IOMMU_F_BYPASS_CONFIG negotiated ignored";
                continue;
            }

            if (source[i] > 1)
            {
                error ??= $"config write of bypass = {source[i]} ignored (only 0 or 1 allowed)";
                continue;
            }

            bypassChanged = _bytes[VirtioIommuConfigLayout.Bypass] != source[i];
            _bytes[VirtioIommuConfigLayout.Bypass] = source[i];
        }

        return error;
    }

    internal void Reset(ResetKind kind)
    {
        if (kind == ResetKind.System)
        {
            _bytes[VirtioIommuConfigLayout.Bypass] = _initialBypass;
        }
    }
}
