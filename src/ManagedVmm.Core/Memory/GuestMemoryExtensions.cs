using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ManagedVmm.Core.Memory;

/// <summary>
/// Little-endian helpers over <see cref="IGuestMemory"/>. Wire structs are read with <see cref="TryRead{T}"/>
/// into a local copy, which the caller then validates: copy once, never read the guest's bytes twice.
/// </summary>
public static class GuestMemoryExtensions
{
    public static bool TryReadByte(this IGuestMemory memory, ulong address, out byte value)
    {
        Span<byte> b = stackalloc byte[1];
        bool ok = memory.TryRead(address, b);
        value = ok ? b[0] : (byte)0;
        return ok;
    }

    public static bool TryReadUInt16(this IGuestMemory memory, ulong address, out ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        bool ok = memory.TryRead(address, b);
        value = ok ? BinaryPrimitives.ReadUInt16LittleEndian(b) : (ushort)0;
        return ok;
    }

    public static bool TryReadUInt32(this IGuestMemory memory, ulong address, out uint value)
    {
        Span<byte> b = stackalloc byte[4];
        bool ok = memory.TryRead(address, b);
        value = ok ? BinaryPrimitives.ReadUInt32LittleEndian(b) : 0;
        return ok;
    }

    public static bool TryReadUInt64(this IGuestMemory memory, ulong address, out ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        bool ok = memory.TryRead(address, b);
        value = ok ? BinaryPrimitives.ReadUInt64LittleEndian(b) : 0;
        return ok;
    }

    public static bool TryWriteByte(this IGuestMemory memory, ulong address, byte value) =>
        memory.TryWrite(address, [value]);

    public static bool TryWriteUInt16(this IGuestMemory memory, ulong address, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        return memory.TryWrite(address, b);
    }

    public static bool TryWriteUInt32(this IGuestMemory memory, ulong address, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return memory.TryWrite(address, b);
    }

    public static bool TryWriteUInt64(this IGuestMemory memory, ulong address, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return memory.TryWrite(address, b);
    }

    /// <summary>Reads a little-endian wire struct (x86 hosts only, as the whole emulator assumes).</summary>
    public static bool TryRead<T>(this IGuestMemory memory, ulong address, out T value)
        where T : unmanaged
    {
        value = default;
        return memory.TryRead(address, MemoryMarshal.AsBytes(new Span<T>(ref value)));
    }

    public static bool TryWrite<T>(this IGuestMemory memory, ulong address, in T value)
        where T : unmanaged =>
        memory.TryWrite(address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    /// <summary>Writes <paramref name="length"/> copies of <paramref name="value"/>, all or nothing per chunk.</summary>
    public static bool TryFill(this IGuestMemory memory, ulong address, ulong length, byte value)
    {
        Span<byte> chunk = stackalloc byte[512];
        chunk.Fill(value);
        while (length > 0)
        {
            int n = (int)Math.Min(length, (ulong)chunk.Length);
            if (!memory.TryWrite(address, chunk[..n]))
            {
                return false;
            }

            address += (ulong)n;
            length -= (ulong)n;
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool RangeFits(ulong start, ulong length, ulong limitExclusive) =>
        start <= limitExclusive && length <= limitExclusive - start;
}
