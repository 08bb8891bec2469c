using System.Diagnostics;
using System.Text.Json.Nodes;
using ManagedVmm.Core;
using ManagedVmm.Cpu.X86;
using ManagedVmm.Devices.Platform.Serial;
using ManagedVmm.Machine.Boot;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Machine.Running;

/// <summary>
/// The run loop: glues the vCPU to a built machine. <see cref="Boot"/> loads the image through
/// <see cref="MachineBootLoader"/> and applies its <see cref="BootState"/> to the vCPU; <see cref="Run"/> runs guest
/// code until the guest stops (debug exit, triple fault, halted with nothing to wake it) or a limit is reached,
/// flushes the serial console and says how it ended. The machine needs a vCPU (<see cref="PlatformExtensions.AddPlatform"/>).
/// </summary>
public sealed class MachineRunner
{
    private readonly Machine _machine;
    private readonly ISerialConsoleSink? _console;

    public MachineRunner(Machine machine)
    {
        _machine = machine;
        Cpu = machine.Services.GetService<X86Vcpu>()
            ?? throw new MachineConfigurationException("the machine has no vCPU (add it with services.AddPlatform() or AddX86Vcpu())");
        _console = machine.Services.GetService<ISerialConsoleSink>();
    }

    public X86Vcpu Cpu { get; }

    public Machine Machine => _machine;

    /// <summary>What the last <see cref="Boot"/> did (null before).</summary>
    public BootResult? BootResult { get; private set; }

    /// <summary>
    /// Loads the images and applies the initial state. The boot-info <c>tsc_hz</c> is taken from the vCPU's options so
    /// that the guest and <c>rdtsc</c> agree. Bad input is a <see cref="MachineConfigurationException"/>, raised before
    /// anything runs.
    /// </summary>
    public BootResult Boot(BootRequest request)
    {
        var result = _machine.GetRequiredService<MachineBootLoader>().Boot(request with { TscHz = Cpu.Options.TscHz });
        Apply(result.State);
        BootResult = result;
        return result;
    }

    /// <summary>Sets the vCPU to a boot state (registers not named are zero).</summary>
    public void Apply(BootState state)
    {
        Cpu.ApplyInitialState(new X86InitialState
        {
            Rip = state.Rip,
            Rsp = state.Rsp,
            Rdi = state.Rdi,
            Rsi = state.Rsi,
            RFlags = state.Rflags,
            Cr0 = state.Cr0,
            Cr3 = state.Cr3,
            Cr4 = state.Cr4,
            Efer = state.Efer,
            Gdtr = new TableRegister(state.GdtBase, state.GdtLimit),
            Idtr = new TableRegister(state.IdtBase, state.IdtLimit),
            Cs = state.Cs,
            Ds = state.DataSelector,
            Ss = state.DataSelector,
            Tr = state.Tr,
        });
    }

    /// <summary>
    /// Runs until the guest stops or a limit is reached. The exit status is the stop signal's (debug exit, triple
    /// fault, halted) or <see cref="RunExitStatus.TimeLimit"/> / <see cref="RunExitStatus.InstructionLimit"/>.
    /// </summary>
    public MachineRunResult Run(MachineRunLimits limits)
    {
        long startNs = _machine.Scheduler.Now;
        long startErrors = _machine.GuestErrors.Count;
        long timeLimit = limits.MaxVirtualTimeNs is long t ? SaturatingAdd(startNs, Math.Max(0, t)) : long.MaxValue;
        long instructionLimit = limits.MaxInstructions is long n ? Math.Max(0, n) : long.MaxValue;
        var stopwatch = Stopwatch.StartNew();
        RunResult r;
        try
        {
            r = Cpu.Run(new RunLimits(instructionLimit, timeLimit));
        }
        finally
        {
            stopwatch.Stop();
            _console?.Flush();
        }

        var stop = _machine.Stop;
        (int status, string message) = r.Reason switch
        {
            VmStopReason.TimeLimit => (RunExitStatus.TimeLimit, $"virtual-time limit of {FormatNs(timeLimit - startNs)} reached at rip=0x{Cpu.Rip:x}"),
            VmStopReason.InstructionLimit => (RunExitStatus.InstructionLimit, $"instruction limit of {instructionLimit} reached at rip=0x{Cpu.Rip:x}"),
            VmStopReason.TripleFault when !stop.IsRequested => (Cpu.Options.TripleFaultExitStatus, "triple fault"),
            VmStopReason.HostRequest => (stop.IsRequested ? stop.ExitStatus : RunExitStatus.HostRequest, stop.Message),
            _ => (stop.ExitStatus, stop.Message),
        };
        return new MachineRunResult(
            r.Reason,
            status,
            message,
            r.InstructionsRetired,
            r.VirtualTimeNs - startNs,
            stopwatch.Elapsed,
            _machine.GuestErrors.Count - startErrors);
    }

    /// <summary>Boots <paramref name="request"/> and runs it: the whole of <c>managedvmm run</c> minus the printing.</summary>
    public MachineRunResult BootAndRun(BootRequest request, MachineRunLimits limits)
    {
        Boot(request);
        return Run(limits);
    }

    /// <summary>The vCPU's architectural state and counters, for <c>--dump-state</c>.</summary>
    public JsonObject CaptureCpuState()
    {
        string[] names = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
        var gprs = new JsonObject();
        for (int i = 0; i < names.Length; i++)
        {
            gprs[names[i]] = Hex(Cpu[(Gpr)i]);
        }

        var exceptions = new JsonObject();
        for (int v = 0; v < Cpu.ExceptionCounts.Length; v++)
        {
            if (Cpu.ExceptionCounts[v] != 0)
            {
                exceptions[v.ToString(System.Globalization.CultureInfo.InvariantCulture)] = Cpu.ExceptionCounts[v];
            }
        }

        return new JsonObject
        {
            ["rip"] = Hex(Cpu.Rip),
            ["rflags"] = Hex(Cpu.RFlags),
            ["registers"] = gprs,
            ["cr0"] = Hex(Cpu.Cr0),
            ["cr2"] = Hex(Cpu.Cr2),
            ["cr3"] = Hex(Cpu.Cr3),
            ["cr4"] = Hex(Cpu.Cr4),
            ["efer"] = Hex(Cpu.Efer),
            ["cs"] = Hex(Cpu.Cs),
            ["ss"] = Hex(Cpu.Ss),
            ["tr"] = Hex(Cpu.Tr),
            ["gdtr"] = new JsonObject { ["base"] = Hex(Cpu.Gdtr.Base), ["limit"] = Hex(Cpu.Gdtr.Limit) },
            ["idtr"] = new JsonObject { ["base"] = Hex(Cpu.Idtr.Base), ["limit"] = Hex(Cpu.Idtr.Limit) },
            ["fsBase"] = Hex(Cpu.FsBase),
            ["gsBase"] = Hex(Cpu.GsBase),
            ["halted"] = Cpu.IsHalted,
            ["instructionAtRip"] = Cpu.Disassemble(Cpu.Rip),
            ["instructionsRetired"] = Cpu.InstructionsRetired,
            ["instructionsDecoded"] = Cpu.InstructionsDecoded,
            ["codePageInvalidations"] = Cpu.CodePageInvalidations,
            ["pageWalks"] = Cpu.PageWalks,
            ["interruptsDelivered"] = Cpu.InterruptsDelivered,
            ["exceptions"] = exceptions,
            ["apic"] = new JsonObject
            {
                ["interruptsAccepted"] = Cpu.Apic.InterruptsAccepted,
                ["timerFirings"] = Cpu.Apic.TimerFirings,
            },
        };
    }

    /// <summary>Formats nanoseconds for messages: <c>10 s</c>, <c>500 ms</c>, <c>1500 ns</c>.</summary>
    public static string FormatNs(long ns) => ns switch
    {
        _ when ns % 1_000_000_000 == 0 && ns != 0 => $"{ns / 1_000_000_000} s",
        _ when ns % 1_000_000 == 0 && ns != 0 => $"{ns / 1_000_000} ms",
        _ when ns % 1_000 == 0 && ns != 0 => $"{ns / 1_000} us",
        _ => $"{ns} ns",
    };

    private static string Hex(ulong v) => $"0x{v:x}";

    private static long SaturatingAdd(long a, long b) => b > long.MaxValue - a ? long.MaxValue : a + b;
}
