using ManagedVmm.Core.Diagnostics;

namespace ManagedVmm.Core.Buses;

/// <summary>
/// What the MMIO and port-I/O buses share: ranges that refuse overlaps, dispatch of an access to the device
/// that owns it, and the deliberate handling of the awkward cases.
/// <list type="bullet">
/// <item>An access nobody claims reads all-ones, drops writes, and is reported as a guest error.</item>
/// <item>An access that fits in one range goes to its device whole, whatever its alignment: the device decides
/// what a misaligned access to its registers means (most treat it per their spec's access rules).</item>
/// <item>An access that straddles the end of a range is split into single bytes, each dispatched on its own
/// (unclaimed bytes read 0xFF), and reported as a guest error: no device sees bytes outside its range.</item>
/// <item>Widths other than 1, 2, 4 and 8 (a 16-byte SSE move, say) are split into naturally sized pieces.</item>
/// </list>
/// </summary>
public abstract class IoBus<TDevice>
    where TDevice : class
{
    private readonly GuestErrorLog _guestErrors;
    private readonly string _name;

    protected IoBus(GuestErrorLog guestErrors, string name, ulong addressLimit)
    {
        _guestErrors = guestErrors;
        _name = name;
        AddressLimit = addressLimit;
    }

    public AddressRangeMap<TDevice> Ranges { get; } = new();

    /// <summary>The highest address on the bus plus one (2^16 for ports, 2^64 written as 0 for memory).</summary>
    protected ulong AddressLimit { get; }

    /// <summary>Accesses that no device claimed, since the bus was built.</summary>
    public long UnclaimedAccesses { get; private set; }

    /// <summary>Registers a range when the machine is built; an overlap is a host configuration error.</summary>
    public void Add(ulong start, ulong length, TDevice device, string name)
    {
        if (!TryAdd(start, length, device, name, out string? conflict))
        {
            throw new BusRangeConflictException(
                $"{_name}: {name} at 0x{start:x}+0x{length:x} overlaps {conflict}");
        }
    }

    /// <summary>Registers a range, or returns false (and the conflicting range's name) when it would overlap.</summary>
    public bool TryAdd(ulong start, ulong length, TDevice device, string name, out string? conflict)
    {
        if (AddressLimit != 0 && (start >= AddressLimit || length > AddressLimit - start))
        {
            conflict = $"the end of the {_name} address space";
            return false;
        }

        return Ranges.TryAdd(start, length, device, name, out conflict);
    }

    public bool Remove(ulong start, TDevice device) => Ranges.Remove(start, device);

    protected abstract void DeviceRead(TDevice device, ulong offset, Span<byte> data);

    protected abstract void DeviceWrite(TDevice device, ulong offset, ReadOnlySpan<byte> data);

    /// <summary>Reads <c>data.Length</c> bytes at <paramref name="address"/> from whoever claims them.</summary>
    public void Read(ulong address, Span<byte> data)
    {
        if (!IsNaturalWidth(data.Length))
        {
            SplitRead(address, data);
            return;
        }

        if (Ranges.TryFind(address, out var entry))
        {
            ulong offset = address - entry.Start;
            if ((ulong)(data.Length - 1) <= entry.Last - address)
            {
                DeviceRead(entry.Device, offset, data);
                return;
            }
        }
        else if (Ranges.TryFind(address + (ulong)(data.Length - 1), out _) == false)
        {
            data.Fill(0xFF);
            Unclaimed(address, data.Length, "read");
            return;
        }

        _guestErrors.Report(_name, $"{data.Length}-byte read at 0x{address:x} straddles a range boundary; split into bytes");
        for (int i = 0; i < data.Length; i++)
        {
            ReadByte(address + (ulong)i, data.Slice(i, 1));
        }
    }

    /// <summary>Writes <c>data</c> at <paramref name="address"/> to whoever claims it.</summary>
    public void Write(ulong address, ReadOnlySpan<byte> data)
    {
        if (!IsNaturalWidth(data.Length))
        {
            SplitWrite(address, data);
            return;
        }

        if (Ranges.TryFind(address, out var entry))
        {
            ulong offset = address - entry.Start;
            if ((ulong)(data.Length - 1) <= entry.Last - address)
            {
                DeviceWrite(entry.Device, offset, data);
                return;
            }
        }
        else if (Ranges.TryFind(address + (ulong)(data.Length - 1), out _) == false)
        {
            Unclaimed(address, data.Length, "write");
            return;
        }

        _guestErrors.Report(_name, $"{data.Length}-byte write at 0x{address:x} straddles a range boundary; split into bytes");
        for (int i = 0; i < data.Length; i++)
        {
            WriteByte(address + (ulong)i, data.Slice(i, 1));
        }
    }

    /// <summary>True when some device claims <paramref name="address"/>.</summary>
    public bool IsClaimed(ulong address) => Ranges.TryFind(address, out _);

    private void ReadByte(ulong address, Span<byte> one)
    {
        if (Ranges.TryFind(address, out var entry))
        {
            DeviceRead(entry.Device, address - entry.Start, one);
        }
        else
        {
            one[0] = 0xFF;
        }
    }

    private void WriteByte(ulong address, ReadOnlySpan<byte> one)
    {
        if (Ranges.TryFind(address, out var entry))
        {
            DeviceWrite(entry.Device, address - entry.Start, one);
        }
    }

    private void SplitRead(ulong address, Span<byte> data)
    {
        int done = 0;
        while (done < data.Length)
        {
            int piece = LargestNaturalPiece(data.Length - done);
            Read(address + (ulong)done, data.Slice(done, piece));
            done += piece;
        }
    }

    private void SplitWrite(ulong address, ReadOnlySpan<byte> data)
    {
        int done = 0;
        while (done < data.Length)
        {
            int piece = LargestNaturalPiece(data.Length - done);
            Write(address + (ulong)done, data.Slice(done, piece));
            done += piece;
        }
    }

    private void Unclaimed(ulong address, int width, string kind)
    {
        UnclaimedAccesses++;
        _guestErrors.Report(_name, $"unclaimed {width}-byte {kind} at 0x{address:x}");
    }

    private static bool IsNaturalWidth(int width) => width is 1 or 2 or 4 or 8;

    private static int LargestNaturalPiece(int remaining) =>
        remaining >= 8 ? 8 : remaining >= 4 ? 4 : remaining >= 2 ? 2 : 1;
}

/// <summary>The guest-physical MMIO bus: everything that is not RAM.</summary>
public sealed class MmioBus : IoBus<IMmioDevice>
{
    public MmioBus(GuestErrorLog guestErrors)
        : base(guestErrors, "mmio", 0)
    {
    }

    protected override void DeviceRead(IMmioDevice device, ulong offset, Span<byte> data) => device.Read(offset, data);

    protected override void DeviceWrite(IMmioDevice device, ulong offset, ReadOnlySpan<byte> data) => device.Write(offset, data);
}

/// <summary>The x86 port-I/O bus, 64 KiB of ports.</summary>
public sealed class PortIoBus : IoBus<IPortIoDevice>
{
    public PortIoBus(GuestErrorLog guestErrors)
        : base(guestErrors, "pio", 0x1_0000)
    {
    }

    protected override void DeviceRead(IPortIoDevice device, ulong offset, Span<byte> data) => device.Read((ushort)offset, data);

    protected override void DeviceWrite(IPortIoDevice device, ulong offset, ReadOnlySpan<byte> data) => device.Write((ushort)offset, data);

    /// <summary>Reads a port as the CPU's IN does: 1, 2 or 4 bytes, zero-extended.</summary>
    public uint In(ushort port, int width)
    {
        Span<byte> b = stackalloc byte[4];
        b.Clear();
        Read(port, b[..width]);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    /// <summary>Writes a port as the CPU's OUT does.</summary>
    public void Out(ushort port, int width, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        Write(port, b[..width]);
    }
}
