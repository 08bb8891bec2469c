using System.Diagnostics;
using ManagedVmm.Cli.Devices;
using ManagedVmm.Core;
using ManagedVmm.Devices.Nvme;
using ManagedVmm.Devices.Platform.Serial;
using ManagedVmm.Machine;
using ManagedVmm.Machine.Boot;
using ManagedVmm.Machine.Running;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Cli.Bench;

/// <summary>
/// Runs a configuration on a fresh machine: the variant's devices (virtio-iommu + NVMe, or NVMe alone), the
/// profile's costs, the guest image (nvme-fio) with the configuration's command line, the serial output captured
/// and its <c>fio:</c> line parsed.
/// </summary>
public sealed class MachineConfigurationRunner : IConfigurationRunner
{
    /// <summary>Virtual-time limit of one run: a guest that has not finished by then failed.</summary>
    public const long MaxVirtualTimeNs = 600_000_000_000;

    private readonly byte[] _image;
    private readonly string _imageName;
    private readonly ulong _memorySize;

    public MachineConfigurationRunner(string imageName, byte[] image, ulong memorySize = 256UL << 20)
    {
        _imageName = imageName;
        _image = image;
        _memorySize = memorySize;
    }

    public BenchResult Run(BenchConfiguration c)
    {
        var wall = Stopwatch.StartNew();
        try
        {
            var (result, serial) = RunGuest(c);
            wall.Stop();
            if (result.Reason != VmStopReason.DebugExit || result.ExitStatus != 1)
            {
                return BenchResult.Failed(c, $"guest stopped: {result.Describe()} (status {result.ExitStatus})", wall.Elapsed.TotalSeconds);
            }

            return FioResultParser.TryParse(serial, out var values, out string? parseError)
                ? FioResultParser.ToResult(c, values, result.InstructionsRetired, wall.Elapsed.TotalSeconds)
                : BenchResult.Failed(c, parseError!, wall.Elapsed.TotalSeconds);
        }
        catch (Exception e)
        {
            return BenchResult.Failed(c, e.Message.Split('\n')[0], wall.Elapsed.TotalSeconds);
        }
    }

    /// <summary>
    /// Builds the configuration's machine, boots the image with its command line and runs it to the end: the run's
    /// result and the serial output. Configuration errors throw (<see cref="Run"/> turns them into a failed result).
    /// </summary>
    public (MachineRunResult Result, string Serial) RunGuest(BenchConfiguration c)
    {
        var builder = DefaultMachine.CreateBuilder(_memorySize);
        string[] devices = c.Variant.HasIommu ? ["virtio-iommu-pci", "nvme,size=64M"] : ["nvme,size=64M"];
        if (!DeviceCatalog.TryAddDevices(builder.Services, devices, out string? error))
        {
            throw new InvalidOperationException(error);
        }

        builder.Services.PostConfigure<NvmeOptions>(c.Profile.ApplyTo);
        c.Profile.ApplyTo(builder.Services);
        var console = new BufferConsoleSink();
        builder.AddPlatform(o =>
        {
            o.Console = console;
            o.InstructionTimePs = c.Profile.InstructionTimePs;
        });
        using var machine = builder.Build();
        var runner = new MachineRunner(machine);
        runner.Boot(new BootRequest(new BootImageSource(_imageName, _image)) { CommandLine = c.CommandLine });
        var result = runner.Run(new MachineRunLimits(MaxVirtualTimeNs));
        return (result, console.Text);
    }
}
