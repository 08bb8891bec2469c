using ManagedVmm.Core.Buses;

namespace ManagedVmm.Core.Tests;

/// <summary>A register window that records every access and answers reads with a fixed byte pattern.</summary>
internal sealed class RecordingDevice(byte fill = 0x5A) : IMmioDevice, IPortIoDevice
{
    public List<(string Kind, ulong Offset, int Width)> Accesses { get; } = [];

    public void Read(ulong offset, Span<byte> data)
    {
        Accesses.Add(("r", offset, data.Length));
        data.Fill(fill);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data) => Accesses.Add(("w", offset, data.Length));

    public void Read(ushort offset, Span<byte> data) => Read((ulong)offset, data);

    public void Write(ushort offset, ReadOnlySpan<byte> data) => Write((ulong)offset, data);
}
