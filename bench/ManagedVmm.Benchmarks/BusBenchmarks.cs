using BenchmarkDotNet.Attributes;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Memory;

namespace ManagedVmm.Benchmarks;

/// <summary>
/// The hot paths of the foundation: a 4-byte MMIO access dispatched to one of 16 devices (as a doorbell write
/// would be), and 8-byte and 4 KiB guest RAM accesses. Each operation is repeated 1,000 times per invocation.
/// </summary>
[MemoryDiagnoser]
public class BusBenchmarks
{
    private const int Operations = 1000;
    private MmioBus _bus = null!;
    private GuestRam _ram = null!;
    private readonly byte[] _page = new byte[4096];

    [GlobalSetup]
    public void Setup()
    {
        _bus = new MmioBus(new GuestErrorLog());
        for (int i = 0; i < 16; i++)
        {
            _bus.Add(0xC000_0000UL + ((ulong)i << 16), 0x4000, new Register(), $"dev{i}");
        }

        _ram = GuestRam.CreateFlat(64UL << 20);
    }

    [GlobalCleanup]
    public void Cleanup() => _ram.Dispose();

    [Benchmark(OperationsPerInvoke = Operations, Description = "MMIO write 4B, 16 devices, alternating")]
    public void MmioDispatchWrite()
    {
        Span<byte> value = stackalloc byte[4];
        for (int i = 0; i < Operations; i++)
        {
            _bus.Write(0xC000_1000UL + ((ulong)(i & 15) << 16), value);
        }
    }

    [Benchmark(OperationsPerInvoke = Operations, Description = "MMIO read 4B, same device")]
    public uint MmioDispatchReadSameDevice()
    {
        Span<byte> value = stackalloc byte[4];
        uint sum = 0;
        for (int i = 0; i < Operations; i++)
        {
            _bus.Read(0xC005_0010, value);
            sum += value[0];
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Operations, Description = "RAM read 8B")]
    public ulong RamRead8()
    {
        ulong sum = 0;
        for (int i = 0; i < Operations; i++)
        {
            _ram.TryReadUInt64((ulong)(i * 64), out ulong v);
            sum += v;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Operations, Description = "RAM write 8B")]
    public void RamWrite8()
    {
        for (int i = 0; i < Operations; i++)
        {
            _ram.TryWriteUInt64((ulong)(i * 64), (ulong)i);
        }
    }

    [Benchmark(OperationsPerInvoke = Operations, Description = "RAM read 4 KiB")]
    public void RamRead4K()
    {
        for (int i = 0; i < Operations; i++)
        {
            _ram.TryRead((ulong)(i & 255) << 12, _page);
        }
    }

    private sealed class Register : IMmioDevice
    {
        private uint _value;

        public void Read(ulong offset, Span<byte> data) => System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(data, _value);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => _value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data);
    }
}
