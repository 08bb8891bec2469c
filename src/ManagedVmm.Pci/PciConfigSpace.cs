using System.Buffers.Binary;

namespace ManagedVmm.Pci;

/// <summary>
/// The bytes of one function's configuration space and, for each bit, whether the guest may write it:
/// read-only (the default), read/write, or write-1-to-clear. Guest writes go through the masks; device code
/// sets values directly. Any offset and width works: accesses outside the 4 KiB read all-ones and drop writes.
/// </summary>
public sealed class PciConfigSpace
{
    private readonly byte[] _data = new byte[Spec.PciConfig.Size];
    private readonly byte[] _writable = new byte[Spec.PciConfig.Size];
    private readonly byte[] _writeOneToClear = new byte[Spec.PciConfig.Size];

    /// <summary>Guest read through the masks' view (values are stored as guest-visible).</summary>
    public void Read(int offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            int at = offset + i;
            data[i] = (uint)at < Spec.PciConfig.Size ? _data[at] : (byte)0xFF;
        }
    }

    /// <summary>Guest write: writable bits take the new value, W1C bits clear where a 1 is written, others stay.</summary>
    public void Write(int offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            int at = offset + i;
            if ((uint)at >= Spec.PciConfig.Size)
            {
                continue;
            }

            byte value = data[i];
            byte rw = _writable[at];
            byte w1c = _writeOneToClear[at];
            _data[at] = (byte)(((_data[at] & ~rw) | (value & rw)) & ~(value & w1c));
        }
    }

    public byte GetByte(int offset) => _data[offset];

    public ushort GetUInt16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(offset));

    public uint GetUInt32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(offset));

    public void SetByte(int offset, byte value) => _data[offset] = value;

    public void SetUInt16(int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(_data.AsSpan(offset), value);

    public void SetUInt32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_data.AsSpan(offset), value);

    /// <summary>Makes bits of <c>[offset, offset+width)</c> read/write (1 bits of <paramref name="mask"/>).</summary>
    public void SetWritable(int offset, int width, ulong mask) => SetMask(_writable, offset, width, mask);

    /// <summary>Makes bits write-1-to-clear (1 bits of <paramref name="mask"/>).</summary>
    public void SetWriteOneToClear(int offset, int width, ulong mask) => SetMask(_writeOneToClear, offset, width, mask);

    /// <summary>The read/write mask of one byte, for tests and the inspector.</summary>
    public byte WritableMask(int offset) => _writable[offset];

    /// <summary>Copies the values and masks of another space (used to snapshot the power-on state).</summary>
    public void CopyFrom(PciConfigSpace other)
    {
        other._data.CopyTo(_data, 0);
        other._writable.CopyTo(_writable, 0);
        other._writeOneToClear.CopyTo(_writeOneToClear, 0);
    }

    private static void SetMask(byte[] target, int offset, int width, ulong mask)
    {
        for (int i = 0; i < width; i++)
        {
            target[offset + i] = (byte)(mask >> (8 * i));
        }
    }
}
