using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Memory;
using ManagedVmm.Core.Time;

namespace ManagedVmm.Testing;

/// <summary>
/// QEMU qtest's vocabulary, in process: guest-physical reads and writes (RAM or MMIO, as the CPU would do
/// them), port I/O, configuration space through ECAM, and the virtual clock.
/// </summary>
public interface IQtest
{
    GuestRam Ram { get; }

    EventScheduler Scheduler { get; }

    byte ReadB(ulong address);

    ushort ReadW(ulong address);

    uint ReadL(ulong address);

    ulong ReadQ(ulong address);

    void WriteB(ulong address, byte value);

    void WriteW(ulong address, ushort value);

    void WriteL(ulong address, uint value);

    void WriteQ(ulong address, ulong value);

    byte InB(ushort port);

    ushort InW(ushort port);

    uint InL(ushort port);

    void OutB(ushort port, byte value);

    void OutW(ushort port, ushort value);

    void OutL(ushort port, uint value);

    uint ConfigRead32(Bdf bdf, int offset);

    ushort ConfigRead16(Bdf bdf, int offset);

    byte ConfigRead8(Bdf bdf, int offset);

    void ConfigWrite32(Bdf bdf, int offset, uint value);

    void ConfigWrite16(Bdf bdf, int offset, ushort value);

    void ConfigWrite8(Bdf bdf, int offset, byte value);

    /// <summary>Moves virtual time forward, firing due device events.</summary>
    void AdvanceClock(long nanoseconds);
}

/// <summary>The qtest accessors over a system memory view and a port bus; ECAM is at <see cref="EcamBase"/>.</summary>
public abstract class QtestBase : IQtest
{
    public const ulong EcamBase = 0xB000_0000;

    protected QtestBase(SystemMemory memory, PortIoBus ports, EventScheduler scheduler)
    {
        Memory = memory;
        Ports = ports;
        Scheduler = scheduler;
    }

    public SystemMemory Memory { get; }

    public PortIoBus Ports { get; }

    public GuestRam Ram => Memory.Ram;

    public EventScheduler Scheduler { get; }

    public byte ReadB(ulong address) => Read(address, 1)[0];

    public ushort ReadW(ulong address) => BinaryPrimitives.ReadUInt16LittleEndian(Read(address, 2));

    public uint ReadL(ulong address) => BinaryPrimitives.ReadUInt32LittleEndian(Read(address, 4));

    public ulong ReadQ(ulong address) => BinaryPrimitives.ReadUInt64LittleEndian(Read(address, 8));

    public void WriteB(ulong address, byte value) => Memory.TryWrite(address, [value]);

    public void WriteW(ulong address, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        Memory.TryWrite(address, b);
    }

    public void WriteL(ulong address, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        Memory.TryWrite(address, b);
    }

    public void WriteQ(ulong address, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        Memory.TryWrite(address, b);
    }

    public byte InB(ushort port) => (byte)Ports.In(port, 1);

    public ushort InW(ushort port) => (ushort)Ports.In(port, 2);

    public uint InL(ushort port) => Ports.In(port, 4);

    public void OutB(ushort port, byte value) => Ports.Out(port, 1, value);

    public void OutW(ushort port, ushort value) => Ports.Out(port, 2, value);

    public void OutL(ushort port, uint value) => Ports.Out(port, 4, value);

    public uint ConfigRead32(Bdf bdf, int offset) => ReadL(Ecam(bdf, offset));

    public ushort ConfigRead16(Bdf bdf, int offset) => ReadW(Ecam(bdf, offset));

    public byte ConfigRead8(Bdf bdf, int offset) => ReadB(Ecam(bdf, offset));

    public void ConfigWrite32(Bdf bdf, int offset, uint value) => WriteL(Ecam(bdf, offset), value);

    public void ConfigWrite16(Bdf bdf, int offset, ushort value) => WriteW(Ecam(bdf, offset), value);

    public void ConfigWrite8(Bdf bdf, int offset, byte value) => WriteB(Ecam(bdf, offset), value);

    public void AdvanceClock(long nanoseconds) => Scheduler.AdvanceBy(nanoseconds);

    /// <summary>Enumerates bus 0 and assigns BARs as firmware would.</summary>
    public IReadOnlyList<EnumeratedFunction> PciEnumerate() => PciProbe.Enumerate(this);

    private static ulong Ecam(Bdf bdf, int offset) => EcamBase + ((ulong)bdf.RequesterId << 12) + (ulong)offset;

    private byte[] Read(ulong address, int width)
    {
        var b = new byte[width];
        Memory.TryRead(address, b);
        return b;
    }
}
