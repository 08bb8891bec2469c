using System.Globalization;
using System.Text.RegularExpressions;
using ManagedVmm.Devices.Nvme;
using ManagedVmm.Devices.Platform.Serial;
using ManagedVmm.Devices.VirtioIommu;
using ManagedVmm.Machine;
using ManagedVmm.Machine.Boot;
using ManagedVmm.Machine.Running;

namespace ManagedVmm.Guest.Tests;

/// <summary>What one boot of a guest image gave: the run's result and everything the guest printed.</summary>
internal sealed record GuestOutcome(MachineRunResult Result, string Serial)
{
    /// <summary>The guest's debug-exit value (the run's status is <c>(v &lt;&lt; 1) | 1</c>), or -1 for any other stop.</summary>
    public int GuestStatus => Result.Reason == Core.VmStopReason.DebugExit ? Result.ExitStatus >> 1 : -1;

    /// <summary>The value printed after <paramref name="label"/> (e.g. "kicks" in the "per I/O:" line).</summary>
    public double PerIo(string label)
    {
        var line = Regex.Match(Serial, @"^per I/O:.*$", RegexOptions.Multiline);
        Assert.That(line.Success, Is.True, "no 'per I/O:' line in:\n" + Serial);
        var m = Regex.Match(line.Value, Regex.Escape(label) + @" ([0-9.]+)");
        Assert.That(m.Success, Is.True, $"no '{label}' in '{line.Value}'");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    public string Describe() => $"{Result.Describe()}\n--- serial ---\n{Serial}";
}

/// <summary>
/// Boots the committed firmware and a committed guest image on the default machine of the platform contract:
/// a virtio-iommu-pci translating an NVMe controller, both with default options, 512 MiB of RAM, 1 ns per
/// instruction and a 1 GHz TSC (what <c>managedvmm run</c> builds without --device).
/// </summary>
internal static class GuestRun
{
    /// <summary>Generous bound in virtual time: every guest here finishes well inside it; a hang stops here.</summary>
    public const long MaxVirtualTimeNs = 60_000_000_000;

    public static GuestOutcome Boot(string image, string? commandLine = null)
    {
        var console = new BufferConsoleSink();
        using var machine = new MachineBuilder(o => o.MemorySize = 512UL << 20)
            .ConfigureServices(s => s.AddVirtioIommu().AddNvme())
            .AddPlatform(o =>
            {
                o.Console = console;
                o.InstructionTimePs = 1000;
                o.TscHz = BootRequest.DefaultTscHz;
            })
            .Build();
        var runner = new MachineRunner(machine);
        var result = runner.BootAndRun(
            new BootRequest(BootImageSource.FromFile(ImagePath(image)))
            {
                Firmware = BootImageSource.FromFile(Path.Combine(RepositoryRoot(), "firmware", "firmware.elf")),
                CommandLine = commandLine,
            },
            new MachineRunLimits(MaxVirtualTimeNs: MaxVirtualTimeNs));
        return new GuestOutcome(result, console.Text);
    }

    /// <summary>guest-images/NAME/NAME.elf in the repository.</summary>
    public static string ImagePath(string image) => Path.Combine(RepositoryRoot(), "guest-images", image, image + ".elf");

    public static string RepositoryRoot() => ManagedVmm.Testing.RepositoryPaths.Root();
}
