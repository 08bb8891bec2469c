namespace ManagedVmm.Machine;

/// <summary>Options of the machine itself (devices have their own options).</summary>
public sealed class MachineOptions
{
    /// <summary>Bytes of guest RAM: 4 KiB aligned, at least 2 MiB (default 512 MiB, like <c>-m 512M</c>).</summary>
    public ulong MemorySize { get; set; } = PlatformLayout.DefaultMemorySize;

    /// <summary>The smallest RAM that holds the firmware area, boot structures and a guest.</summary>
    public const ulong MinimumMemorySize = 2UL << 20;

    /// <summary>Upper bound we accept: the host must be able to reserve it (native memory, committed lazily).</summary>
    public const ulong MaximumMemorySize = 1UL << 40;

    /// <summary>Returns an error message, or null when the options are valid.</summary>
    public string? Validate()
    {
        if (MemorySize < MinimumMemorySize || MemorySize > MaximumMemorySize || (MemorySize & 0xFFF) != 0)
        {
            return $"memory size {MemorySize} must be a multiple of 4 KiB between 2 MiB and 1 TiB";
        }

        return null;
    }
}
