using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ManagedVmm.Cli.Devices;
using ManagedVmm.Cli.Diagnostics;
using ManagedVmm.Core;
using ManagedVmm.Devices.Platform.Serial;
using ManagedVmm.Machine;
using ManagedVmm.Machine.Boot;
using ManagedVmm.Machine.Inspection;
using ManagedVmm.Machine.Running;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ManagedVmm.Cli.Commands;

/// <summary>
/// <c>managedvmm run [IMAGE]</c>: builds the machine (-m, --device), boots the ELF image (or the embedded default
/// image) with the command line, runs it on the x86-64 vCPU and exits with the guest's status. The serial console
/// goes to stdout; messages, traces and --stats go to stderr. See docs/run.md.
/// </summary>
internal static class RunCommand
{
    /// <summary>The image run when none is named (guest-images/hello/hello.elf, embedded at build time).</summary>
    public const string DefaultImageResource = "ManagedVmm.Cli.DefaultImage.elf";

    public const string DefaultImageName = "hello.elf (built in)";

    /// <summary>A host failure while the guest runs (a bug in the emulator, not the guest): EX_SOFTWARE.</summary>
    public const int InternalError = 70;

    public static Command Create(TextWriter output, TextWriter error, Func<ISerialConsoleSink> consoleFactory)
    {
        var image = new Argument<string?>("IMAGE")
        {
            Description = $"The ELF64 image to boot (default: the built-in {DefaultImageName})",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var memory = DeviceArguments.Memory();
        var devices = DeviceArguments.Devices();
        var noDefaults = DeviceArguments.NoDefaults();
        var append = new Option<string?>("--append") { Description = "The guest's command line (boot-info cmdline)" };
        var firmware = new Option<string?>("--firmware") { Description = "Start this firmware ELF first; it finds the payload through the boot-info block" };
        var noFirmware = new Option<bool>("--no-firmware")
        {
            Description = "Start the payload directly; the VMM assigns BARs and enables decoding and bus mastering. " +
                "This is the default while no firmware image exists",
        };
        var maxTime = new Option<string?>("--max-time") { Description = "Stop after this much virtual time (e.g. 10s, 500ms, 20us); status 122" };
        var maxInstructions = new Option<string?>("--max-instructions") { Description = "Stop after this many retired instructions (e.g. 1000000, 50M); status 120" };
        var trace = new Option<string?>("--trace") { Description = "Print trace events of matching categories under ManagedVmm.Trace to stderr (e.g. Nvme, VirtioIommu, '*Iommu*', all)" };
        var stats = new Option<bool>("--stats") { Description = "Print statistics to stderr after the run: virtual time, instructions, guest MIPS, wall time, guest errors, devices" };
        var dumpState = new Option<string?>("--dump-state") { Description = "Write the machine and vCPU state after the run to this file as JSON" };
        var nsPerInstruction = new Option<string?>("--ns-per-instruction") { Description = "Virtual nanoseconds per retired instruction (default 1; fractions allowed, e.g. 0.333)" };
        var tscHz = new Option<string?>("--tsc-hz") { Description = "rdtsc ticks per virtual second (default 1000000000)" };

        var command = new Command("run", "Boot an ELF image on the machine and run it; the exit status is the guest's (see docs/run.md)")
        {
            image, memory, devices, noDefaults, append, firmware, noFirmware, maxTime, maxInstructions, trace, stats, dumpState, nsPerInstruction, tscHz,
        };

        command.SetAction(parse =>
        {
            int Fail(string message)
            {
                error.WriteLine($"managedvmm: {message}");
                return CliApplication.UsageError;
            }

            var limits = MachineRunLimits.None;
            if (parse.GetValue(maxTime) is string timeText)
            {
                if (!MachineOptionParsing.TryParseDuration(timeText, out long ns))
                {
                    return Fail($"invalid --max-time '{timeText}' (examples: 10s, 500ms, 20us, 1.5s)");
                }

                limits = limits with { MaxVirtualTimeNs = ns };
            }

            if (parse.GetValue(maxInstructions) is string countText)
            {
                if (!MachineOptionParsing.TryParseCount(countText, out long count))
                {
                    return Fail($"invalid --max-instructions '{countText}' (examples: 1000000, 50M, 2G)");
                }

                limits = limits with { MaxInstructions = count };
            }

            long instructionPs = 1000;
            if (parse.GetValue(nsPerInstruction) is string nsText)
            {
                if (!decimal.TryParse(nsText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal nsValue)
                    || nsValue * 1000 < 1 || nsValue > 1_000_000)
                {
                    return Fail($"invalid --ns-per-instruction '{nsText}' (a number from 0.001 to 1000000)");
                }

                instructionPs = (long)Math.Round(nsValue * 1000);
            }

            ulong tsc = BootRequest.DefaultTscHz;
            if (parse.GetValue(tscHz) is string tscText)
            {
                if (!MachineOptionParsing.TryParseCount(tscText, out long tscValue) || tscValue < 1000)
                {
                    return Fail($"invalid --tsc-hz '{tscText}' (at least 1000; examples: 1000000000, 3G)");
                }

                tsc = (ulong)tscValue;
            }

            if (!TracePattern.TryParse(parse.GetValue(trace), out var tracePattern, out string? traceError))
            {
                return Fail(traceError!);
            }

            string? imageArgument = parse.GetValue(image);
            if (imageArgument != null && imageArgument.StartsWith('-') && !File.Exists(imageArgument))
            {
                return Fail($"unknown option '{imageArgument}' (see managedvmm run --help)");
            }

            string? firmwarePath = parse.GetValue(firmware);
            if (firmwarePath != null && parse.GetValue(noFirmware))
            {
                return Fail("--firmware and --no-firmware exclude each other");
            }

            var builder = DeviceArguments.TryCreateBuilder(parse.GetValue(memory)!, parse.GetValue(devices), parse.GetValue(noDefaults), out string? deviceError);
            if (builder == null)
            {
                return Fail(deviceError!);
            }

            builder.Services.AddLogging(b =>
            {
                b.ClearProviders();
                b.SetMinimumLevel(LogLevel.Trace);
                b.AddProvider(new CliLoggerProvider(error, tracePattern));
            });
            var console = consoleFactory();
            builder.AddPlatform(o =>
            {
                o.Console = console;
                o.InstructionTimePs = instructionPs;
                o.TscHz = tsc;
            });

            Machine.Machine? machine = null;
            try
            {
                MachineRunner runner;
                try
                {
                    var payload = imageArgument == null ? DefaultImage() : BootImageSource.FromFile(imageArgument);
                    var request = new BootRequest(payload)
                    {
                        CommandLine = parse.GetValue(append),
                        Firmware = firmwarePath == null ? null : BootImageSource.FromFile(firmwarePath),
                    };
                    machine = builder.Build();
                    runner = new MachineRunner(machine);
                    runner.Boot(request);
                }
                catch (Exception e)
                {
                    // Everything before the first instruction is configuration: the image, the devices, the options.
                    return Fail(OneLine(e));
                }

                MachineRunResult result;
                try
                {
                    result = runner.Run(limits);
                }
                catch (Exception e)
                {
                    error.WriteLine($"managedvmm: internal error while running the guest: {OneLine(e)}");
                    return InternalError;
                }

                if (result.Reason != VmStopReason.DebugExit)
                {
                    ReportStop(error, result);
                }

                if (parse.GetValue(stats))
                {
                    PrintStatistics(error, runner, result);
                }

                if (parse.GetValue(dumpState) is string dumpPath)
                {
                    try
                    {
                        File.WriteAllText(dumpPath, CaptureState(runner, result).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + Environment.NewLine);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                    {
                        return Fail($"cannot write the state dump '{dumpPath}': {e.Message}");
                    }
                }

                return result.ExitStatus;
            }
            finally
            {
                machine?.Dispose();
                output.Flush();
                error.Flush();
            }
        });
        return command;
    }

    /// <summary>The built-in default image (guest-images/hello/hello.elf).</summary>
    public static BootImageSource DefaultImage()
    {
        using var stream = typeof(RunCommand).Assembly.GetManifestResourceStream(DefaultImageResource)
            ?? throw new MachineConfigurationException("the built-in default image is missing from this build");
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return new BootImageSource(DefaultImageName, ms.ToArray());
    }

    /// <summary>The state after a run, for --dump-state: the run's result, the machine as inspect sees it, the vCPU.</summary>
    public static JsonObject CaptureState(MachineRunner runner, MachineRunResult result) => new()
    {
        ["run"] = new JsonObject
        {
            ["reason"] = result.Reason.ToString(),
            ["exitStatus"] = result.ExitStatus,
            ["message"] = result.Message,
            ["instructionsRetired"] = result.InstructionsRetired,
            ["virtualTimeNs"] = result.VirtualTimeNs,
            ["wallTimeSeconds"] = result.WallTime.TotalSeconds,
            ["guestErrors"] = result.GuestErrors,
        },
        ["machine"] = MachineInspector.Capture(runner.Machine),
        ["cpu"] = runner.CaptureCpuState(),
    };

    private static void ReportStop(TextWriter error, MachineRunResult result)
    {
        string[] lines = result.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        error.WriteLine($"managedvmm: guest stopped: {result.Describe()}{(lines.Length > 0 ? ": " + lines[0] : string.Empty)}");
        foreach (string line in lines.Skip(1))
        {
            error.WriteLine($"  {line}");
        }
    }

    private static void PrintStatistics(TextWriter error, MachineRunner runner, MachineRunResult result)
    {
        var cpu = runner.Cpu;
        var c = CultureInfo.InvariantCulture;
        error.WriteLine("--- statistics ---");
        error.WriteLine(string.Create(c, $"exit:                 {result.Describe()}"));
        error.WriteLine(string.Create(c, $"virtual time:         {result.VirtualTimeNs / 1e6:F3} ms ({result.VirtualTimeNs} ns)"));
        error.WriteLine(string.Create(c, $"retired instructions: {result.InstructionsRetired}"));
        error.WriteLine(string.Create(c, $"guest MIPS (wall):    {result.Mips:F1}"));
        error.WriteLine(string.Create(c, $"wall time:            {result.WallTime.TotalSeconds:F3} s"));
        error.WriteLine(string.Create(c, $"guest errors:         {result.GuestErrors}"));
        long exceptions = cpu.ExceptionCounts.Sum();
        error.WriteLine(string.Create(c, $"vcpu:                 decoded {cpu.InstructionsDecoded}, code-page invalidations {cpu.CodePageInvalidations}, page walks {cpu.PageWalks}, exceptions {exceptions}, interrupts {cpu.InterruptsDelivered}, APIC timer firings {cpu.Apic.TimerFirings}"));
        foreach (string line in DeviceCatalog.Statistics(runner.Machine.Services))
        {
            error.WriteLine($"device:               {line}");
        }
    }

    private static string OneLine(Exception e) => e.Message.ReplaceLineEndings(" ");
}
