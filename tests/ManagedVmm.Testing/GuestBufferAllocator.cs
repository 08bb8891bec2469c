using ManagedVmm.Core.Memory;

namespace ManagedVmm.Testing;

/// <summary>A bump allocator of guest-physical buffers for test drivers (libqos' guest allocator).</summary>
public sealed class GuestBufferAllocator
{
    private readonly GuestRam _ram;
    private ulong _next;
    private readonly ulong _end;

    public GuestBufferAllocator(GuestRam ram, ulong start = 0x10_0000, ulong? end = null)
    {
        _ram = ram;
        _next = start;
        _end = end ?? ram.Regions[0].End;
    }

    /// <summary>Allocates <paramref name="size"/> zeroed bytes aligned to <paramref name="alignment"/>.</summary>
    public ulong Alloc(ulong size, ulong alignment = 4096)
    {
        ulong at = (_next + alignment - 1) & ~(alignment - 1);
        if (at + size > _end)
        {
            throw new InvalidOperationException($"test RAM exhausted allocating 0x{size:x} bytes");
        }

        _next = at + size;
        _ram.TryFill(at, size, 0);
        return at;
    }
}
