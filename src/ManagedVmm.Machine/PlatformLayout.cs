namespace ManagedVmm.Machine;

/// <summary>
/// The platform contract's memory map and ports (ARCHITECTURE §3, q35-like). Guests rely on these byte for
/// byte; change them only with the README's "Platform contract" section and its tests.
/// </summary>
public static class PlatformLayout
{
    /// <summary>RAM below this address; the rest continues at <see cref="HighRamBase"/>.</summary>
    public const ulong LowRamLimit = 0xB000_0000;

    public const ulong HighRamBase = 0x1_0000_0000;

    /// <summary>Read-only firmware area, where the RSDP is found by the 16-byte-aligned scan.</summary>
    public const ulong FirmwareAreaBase = 0x000E_0000;

    public const ulong FirmwareAreaSize = 0x0002_0000;

    /// <summary>PCIe ECAM for buses 0–255.</summary>
    public const ulong EcamBase = 0xB000_0000;

    public const ulong EcamSize = 0x1000_0000;

    /// <summary>The 32-bit PCI MMIO window in which BARs are assigned.</summary>
    public const ulong PciMmioWindowBase = 0xC000_0000;

    public const ulong PciMmioWindowEnd = 0xFC00_0000;

    /// <summary>Local APIC page and MSI doorbell window.</summary>
    public const ulong LocalApicBase = 0xFEE0_0000;

    public const ulong MsiWindowSize = 0x10_0000;

    public const ushort Com1Port = 0x3F8;

    /// <summary>isa-debug-exit: a write of v stops the VM with status (v &lt;&lt; 1) | 1.</summary>
    public const ushort DebugExitPort = 0xF4;

    public const ushort DebugExitPortCount = 4;

    public const ulong DefaultMemorySize = 512UL << 20;

    /// <summary>The RAM regions for <paramref name="memorySize"/> bytes of RAM on this map.</summary>
    public static IReadOnlyList<Core.Memory.RamRegion> RamRegions(ulong memorySize)
    {
        ulong low = Math.Min(memorySize, LowRamLimit);
        var regions = new List<Core.Memory.RamRegion> { new(0, low) };
        if (memorySize > low)
        {
            regions.Add(new Core.Memory.RamRegion(HighRamBase, memorySize - low));
        }

        return regions;
    }
}
