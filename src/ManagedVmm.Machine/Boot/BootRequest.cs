namespace ManagedVmm.Machine.Boot;

/// <summary>An ELF image to boot: a name for messages and its bytes.</summary>
public sealed record BootImageSource(string Name, byte[] Bytes)
{
    /// <summary>Reads an image file; a missing or unreadable file is a <see cref="MachineConfigurationException"/>.</summary>
    public static BootImageSource FromFile(string path)
    {
        try
        {
            return new BootImageSource(path, File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new MachineConfigurationException($"{path}: cannot read the image: {e.Message}", e);
        }
    }
}

/// <summary>
/// What to boot: the payload (the test guest), an optional firmware that starts first and jumps to the payload,
/// and the command line. With no firmware the VMM assigns BARs itself (<c>--no-firmware</c>) and the payload starts
/// directly.
/// </summary>
public sealed record BootRequest(BootImageSource Payload)
{
    /// <summary>The default TSC rate: 1 GHz, so one TSC tick is one virtual nanosecond.</summary>
    public const ulong DefaultTscHz = 1_000_000_000;

    public BootImageSource? Firmware { get; init; }

    /// <summary>The command line; null or empty gives <c>cmdline = 0</c> in the boot-info block.</summary>
    public string? CommandLine { get; init; }

    /// <summary>The rate at which <c>rdtsc</c> counts virtual time (boot-info <c>tsc_hz</c>); the vCPU must use the same.</summary>
    public ulong TscHz { get; init; } = DefaultTscHz;

    /// <summary>Processors described in the MADT (one local APIC each).</summary>
    public int CpuCount { get; init; } = 1;
}

/// <summary>What the boot loader did: the vCPU state to apply, and where everything went.</summary>
public sealed record BootResult(
    BootState State,
    BootInfo Info,
    ulong BootInfoAddress,
    Acpi.AcpiTableSet Acpi,
    ElfImage Payload,
    ElfImage? Firmware,
    IReadOnlyList<PciBarAssignment> BarAssignments);
