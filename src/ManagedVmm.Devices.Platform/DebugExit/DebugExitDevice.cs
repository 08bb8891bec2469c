using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Core.Buses;

namespace ManagedVmm.Devices.Platform.DebugExit;

/// <summary>
/// The debug-exit port (QEMU's <c>isa-debug-exit,iobase=0xf4,iosize=4</c>; ARCHITECTURE §3): a guest write of
/// value <c>v</c> stops the VM with exit status <c>(v &lt;&lt; 1) | 1</c>, so a test guest reports pass/fail
/// without any other device.
/// <para>
/// Width handling, as QEMU does it: any access of 1, 2 or 4 bytes at any of the four ports counts; the value is
/// the access's value zero-extended (a 1-byte <c>out 0xf4, al</c> of 0x10 gives status 0x21; a 4-byte
/// <c>out dx, eax</c> of 0x10 gives the same). The status is computed in 64 bits and truncated to 32 bits
/// (<c>int</c>), as QEMU's <c>exit()</c> argument is; the host OS then reports its low 8 bits as the process
/// exit code. An access that runs past port 0xF7 is split by the bus into bytes, and the first byte's write
/// wins (the stop signal keeps the first request). Reads return 0.
/// </para>
/// <para>Leaves out: nothing of QEMU's device; it has no state besides the stop request.</para>
/// </summary>
public sealed class DebugExitDevice : IPortIoDevice
{
    private readonly VmStopSignal _stop;

    public DebugExitDevice(VmStopSignal stop) => _stop = stop;

    /// <summary>The exit status a write of <paramref name="value"/> produces: <c>(v &lt;&lt; 1) | 1</c>, truncated to 32 bits.</summary>
    public static int StatusFor(uint value) => unchecked((int)(((ulong)value << 1) | 1));

    public void Read(ushort offset, Span<byte> data) => data.Clear();

    public void Write(ushort offset, ReadOnlySpan<byte> data)
    {
        Span<byte> wide = stackalloc byte[4];
        wide.Clear();
        data[..Math.Min(data.Length, 4)].CopyTo(wide);
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(wide);
        int status = StatusFor(value);
        _stop.Request(
            VmStopReason.DebugExit,
            status,
            $"debug exit: guest wrote 0x{value:x} ({data.Length} byte{(data.Length == 1 ? "" : "s")} at port 0x{0xF4 + offset:x}), exit status {status}");
    }
}
