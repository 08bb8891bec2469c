using System.Buffers.Binary;

namespace ManagedVmm.Devices.VirtioIommu.Spec;

// Request and reply layouts of §5.13.6 "Device operations" (virtio v1.2). Every request is one chain: a
// device-readable part (head + body) then a device-writable part (the tail; for PROBE the properties then the
// tail). Offsets are from the start of the request; all fields little-endian and naturally aligned. Each Read
// takes a span already checked to be at least ReadableSize long (the processor checks; a short span throws,
// which would be a host bug).

/// <summary><c>struct virtio_iommu_req_head { u8 type; u8 reserved[3]; }</c> (§5.13.6).</summary>
public readonly record struct VirtioIommuReqHead(byte Type)
{
    public const int Size = 4;
    public const int TypeOffset = 0;

    public static VirtioIommuReqHead Read(ReadOnlySpan<byte> request) => new(request[TypeOffset]);
}

/// <summary><c>struct virtio_iommu_req_tail { u8 status; u8 reserved[3]; }</c> (§5.13.6). The device zeroes <c>reserved</c>.</summary>
public static class VirtioIommuReqTail
{
    public const int Size = 4;
    public const int StatusOffset = 0;

    /// <summary>Writes a tail with <paramref name="status"/> and zeroed reserved bytes.</summary>
    public static void Write(Span<byte> tail, VirtioIommuStatus status)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(tail, (byte)status);
    }
}

/// <summary>
/// <c>struct virtio_iommu_req_attach { head; le32 domain; le32 endpoint; le32 flags; u8 reserved[4]; tail; }</c>
/// (§5.13.6.1 "ATTACH request").
/// </summary>
public readonly record struct VirtioIommuReqAttach(uint Domain, uint Endpoint, VirtioIommuAttachFlags Flags, uint Reserved)
{
    public const int DomainOffset = 4;
    public const int EndpointOffset = 8;
    public const int FlagsOffset = 12;
    public const int ReservedOffset = 16;
    public const int ReadableSize = 20;
    public const int Size = ReadableSize + VirtioIommuReqTail.Size;

    public static VirtioIommuReqAttach Read(ReadOnlySpan<byte> r) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(r[DomainOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(r[EndpointOffset..]),
        (VirtioIommuAttachFlags)BinaryPrimitives.ReadUInt32LittleEndian(r[FlagsOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(r[ReservedOffset..]));
}

/// <summary>
/// <c>struct virtio_iommu_req_detach { head; le32 domain; le32 endpoint; u8 reserved[8]; tail; }</c>
/// (§5.13.6.2 "DETACH request"). The device ignores <c>reserved</c>.
/// </summary>
public readonly record struct VirtioIommuReqDetach(uint Domain, uint Endpoint)
{
    public const int DomainOffset = 4;
    public const int EndpointOffset = 8;
    public const int ReservedOffset = 12;
    public const int ReadableSize = 20;
    public const int Size = ReadableSize + VirtioIommuReqTail.Size;

    public static VirtioIommuReqDetach Read(ReadOnlySpan<byte> r) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(r[DomainOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(r[EndpointOffset..]));
}

/// <summary>
/// <c>struct virtio_iommu_req_map { head; le32 domain; le64 virt_start; le64 virt_end; le64 phys_start; le32 flags; tail; }</c>
/// (§5.13.6.3 "MAP request"). <c>virt_end</c> is inclusive.
/// </summary>
public readonly record struct VirtioIommuReqMap(uint Domain, ulong VirtStart, ulong VirtEnd, ulong PhysStart, VirtioIommuMapFlags Flags)
{
    public const int DomainOffset = 4;
    public const int VirtStartOffset = 8;
    public const int VirtEndOffset = 16;
    public const int PhysStartOffset = 24;
    public const int FlagsOffset = 32;
    public const int ReadableSize = 36;
    public const int Size = ReadableSize + VirtioIommuReqTail.Size;

    public static VirtioIommuReqMap Read(ReadOnlySpan<byte> r) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(r[DomainOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(r[VirtStartOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(r[VirtEndOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(r[PhysStartOffset..]),
        (VirtioIommuMapFlags)BinaryPrimitives.ReadUInt32LittleEndian(r[FlagsOffset..]));
}

/// <summary>
/// <c>struct virtio_iommu_req_unmap { head; le32 domain; le64 virt_start; le64 virt_end; u8 reserved[4]; tail; }</c>
/// (§5.13.6.4 "UNMAP request"). <c>virt_end</c> is inclusive.
/// </summary>
public readonly record struct VirtioIommuReqUnmap(uint Domain, ulong VirtStart, ulong VirtEnd, uint Reserved)
{
    public const int DomainOffset = 4;
    public const int VirtStartOffset = 8;
    public const int VirtEndOffset = 16;
    public const int ReservedOffset = 24;
    public const int ReadableSize = 28;
    public const int Size = ReadableSize + VirtioIommuReqTail.Size;

    public static VirtioIommuReqUnmap Read(ReadOnlySpan<byte> r) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(r[DomainOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(r[VirtStartOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(r[VirtEndOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(r[ReservedOffset..]));
}

/// <summary>
/// <c>struct virtio_iommu_req_probe { head; le32 endpoint; u8 reserved[64]; u8 properties[probe_size]; tail; }</c>
/// (§5.13.6.5 "PROBE request"). The writable part is <c>properties</c> followed by the tail.
/// </summary>
public readonly record struct VirtioIommuReqProbe(uint Endpoint)
{
    public const int EndpointOffset = 4;
    public const int ReservedOffset = 8;
    public const int ReservedSize = 64;
    public const int ReadableSize = 72;

    public static VirtioIommuReqProbe Read(ReadOnlySpan<byte> r) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(r[EndpointOffset..]));
}

/// <summary>
/// <c>struct virtio_iommu_probe_property { le16 type (bits 0–11; 12–15 reserved); le16 length; }</c> (§5.13.6.6).
/// <c>length</c> excludes this header; the next property starts <c>length + 4</c> bytes later.
/// </summary>
public static class VirtioIommuProbeProperty
{
    public const int HeaderSize = 4;
    public const ushort TypeMask = 0x0FFF;

    public static void WriteHeader(Span<byte> destination, VirtioIommuProbeType type, ushort length)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)((ushort)type & TypeMask));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], length);
    }
}

/// <summary>
/// <c>struct virtio_iommu_probe_resv_mem { head; u8 subtype; u8 reserved[3]; le64 start; le64 end; }</c>
/// (§5.13.6.6.1 "Property RESV_MEM"). <c>end</c> is inclusive; <c>length</c> in the header is 20.
/// </summary>
public readonly record struct VirtioIommuProbeResvMem(VirtioIommuResvMemSubtype Subtype, ulong Start, ulong End)
{
    public const int SubtypeOffset = 4;
    public const int StartOffset = 8;
    public const int EndOffset = 16;
    public const int Size = 24;

    /// <summary>The header's <c>length</c>: the property size without its 4-byte header.</summary>
    public const ushort Length = Size - VirtioIommuProbeProperty.HeaderSize;

    /// <summary>Writes the whole 24-byte property, reserved bytes zero.</summary>
    public void Write(Span<byte> destination)
    {
        destination[..Size].Clear();
        VirtioIommuProbeProperty.WriteHeader(destination, VirtioIommuProbeType.ResvMem, Length);
        destination[SubtypeOffset] = (byte)Subtype;
        BinaryPrimitives.WriteUInt64LittleEndian(destination[StartOffset..], Start);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[EndOffset..], End);
    }
}

/// <summary>
/// <c>struct virtio_iommu_fault { u8 reason; u8 reserved[3]; le32 flags; le32 endpoint; le32 reserved1; le64 address; }</c>
/// (§5.13.6.7 "Fault reporting"): one event written into one eventq buffer.
/// </summary>
public readonly record struct VirtioIommuFault(VirtioIommuFaultReason Reason, VirtioIommuFaultFlags Flags, uint Endpoint, ulong Address)
{
    public const int ReasonOffset = 0;
    public const int FlagsOffset = 4;
    public const int EndpointOffset = 8;
    public const int AddressOffset = 16;
    public const int Size = 24;

    /// <summary>Writes the 24-byte record, both reserved fields zero.</summary>
    public void Write(Span<byte> destination)
    {
        destination[..Size].Clear();
        destination[ReasonOffset] = (byte)Reason;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[FlagsOffset..], (uint)Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[EndpointOffset..], Endpoint);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[AddressOffset..], Address);
    }
}

/// <summary>
/// <c>struct virtio_iommu_config</c> (§5.13.4 "Device configuration layout"), 40 bytes: <c>le64 page_size_mask;
/// le64 input_range.start, .end; le32 domain_range.start, .end; le32 probe_size; u8 bypass; u8 reserved[3]</c>.
/// </summary>
public static class VirtioIommuConfigLayout
{
    public const int PageSizeMask = 0x00;
    public const int InputRangeStart = 0x08;
    public const int InputRangeEnd = 0x10;
    public const int DomainRangeStart = 0x18;
    public const int DomainRangeEnd = 0x1C;
    public const int ProbeSize = 0x20;
    public const int Bypass = 0x24;
    public const int Reserved = 0x25;
    public const int Size = 0x28;
}
