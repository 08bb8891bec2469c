using System.Runtime.InteropServices;

namespace ManagedVmm.Virtio.Spec;

/// <summary>Descriptor flags (virtio 1.2 §2.7.5, <c>struct virtq_desc</c>).</summary>
[Flags]
public enum VirtqDescFlags : ushort
{
    None = 0,

    /// <summary>VIRTQ_DESC_F_NEXT (1): the chain continues at <c>next</c>.</summary>
    NEXT = 1,

    /// <summary>VIRTQ_DESC_F_WRITE (2): the buffer is device-writable (otherwise device-readable).</summary>
    WRITE = 2,

    /// <summary>VIRTQ_DESC_F_INDIRECT (4): the buffer is a table of descriptors (§2.7.5.3).</summary>
    INDIRECT = 4,
}

/// <summary>
/// One split-ring descriptor as it sits in guest memory (virtio 1.2 §2.7.5): <c>le64 addr; le32 len; le16 flags;
/// le16 next</c>, 16 bytes. Read once into this struct, then validated.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct VirtqDesc
{
    /// <summary>Size of a descriptor in the table (and of an indirect table entry).</summary>
    public const int Size = 16;

    public ulong Addr;
    public uint Len;
    public VirtqDescFlags Flags;
    public ushort Next;
}
