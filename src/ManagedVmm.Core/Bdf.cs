namespace ManagedVmm.Core;

/// <summary>
/// A PCI bus/device/function triple. It is also the requester ID that tags a device's DMA
/// (<c>bus &lt;&lt; 8 | device &lt;&lt; 3 | function</c>) and, behind virtio-iommu, the endpoint ID.
/// It lives in Core because the DMA seam is keyed by it.
/// </summary>
public readonly record struct Bdf
{
    public Bdf(int bus, int device, int function)
    {
        if ((uint)bus > 255 || (uint)device > 31 || (uint)function > 7)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(device), $"no such PCI address {bus:x2}:{device:x2}.{function}");
        }

        RequesterId = (ushort)((bus << 8) | (device << 3) | function);
    }

    private Bdf(ushort requesterId) => RequesterId = requesterId;

    /// <summary>The 16-bit requester ID: bus in bits 15..8, device in 7..3, function in 2..0.</summary>
    public ushort RequesterId { get; }

    public int Bus => RequesterId >> 8;

    public int Device => (RequesterId >> 3) & 0x1F;

    public int Function => RequesterId & 0x7;

    public static Bdf FromRequesterId(ushort requesterId) => new(requesterId);

    /// <summary>The <c>lspci</c> form, <c>bb:dd.f</c>.</summary>
    public override string ToString() => $"{Bus:x2}:{Device:x2}.{Function}";
}
