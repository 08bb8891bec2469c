namespace ManagedVmm.Core.Memory;

/// <summary>A guest-physical range backed by RAM.</summary>
public readonly record struct RamRegion(ulong GuestBase, ulong Size)
{
    public ulong End => GuestBase + Size;

    public bool Contains(ulong address) => address >= GuestBase && address - GuestBase < Size;
}
