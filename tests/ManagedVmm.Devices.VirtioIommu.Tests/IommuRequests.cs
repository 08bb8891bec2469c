using System.Buffers.Binary;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>
/// Builds the readable part of requests byte by byte from the spec's layouts (virtio v1.2 §5.13.6), independently
/// of the device's own Spec structs, so a layout mistake there shows up here.
/// </summary>
internal static class IommuRequests
{
    public const byte Attach = 1, Detach = 2, Map = 3, Unmap = 4, Probe = 5;

    public static byte[] AttachReq(uint domain, uint endpoint, uint flags = 0, uint reserved = 0)
    {
        var b = new byte[20];
        b[0] = Attach;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), domain);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), endpoint);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16), reserved);
        return b;
    }

    public static byte[] DetachReq(uint domain, uint endpoint, ulong reserved = 0)
    {
        var b = new byte[20];
        b[0] = Detach;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), domain);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), endpoint);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(12), reserved);
        return b;
    }

    public static byte[] MapReq(uint domain, ulong virtStart, ulong virtEnd, ulong physStart, uint flags)
    {
        var b = new byte[36];
        b[0] = Map;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), domain);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), virtStart);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), virtEnd);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(24), physStart);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(32), flags);
        return b;
    }

    public static byte[] UnmapReq(uint domain, ulong virtStart, ulong virtEnd, uint reserved = 0)
    {
        var b = new byte[28];
        b[0] = Unmap;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), domain);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), virtStart);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), virtEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(24), reserved);
        return b;
    }

    public static byte[] ProbeReq(uint endpoint)
    {
        var b = new byte[72];
        b[0] = Probe;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), endpoint);
        return b;
    }
}
