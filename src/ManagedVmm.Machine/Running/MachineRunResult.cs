using ManagedVmm.Core;

namespace ManagedVmm.Machine.Running;

/// <summary>Limits of one <see cref="MachineRunner.Run"/>; null means no limit.</summary>
/// <param name="MaxVirtualTimeNs">Virtual nanoseconds the run may last (from its start).</param>
/// <param name="MaxInstructions">Instructions the run may retire.</param>
public readonly record struct MachineRunLimits(long? MaxVirtualTimeNs = null, long? MaxInstructions = null)
{
    public static MachineRunLimits None => default;
}

/// <summary>How a run ended.</summary>
/// <param name="Reason">Why it stopped: debug exit, triple fault, halted, or a limit.</param>
/// <param name="ExitStatus">The process exit status (see <see cref="RunExitStatus"/>).</param>
/// <param name="Message">A diagnostic: the debug-exit value, the triple fault's register dump, the limit reached.</param>
/// <param name="InstructionsRetired">Instructions retired by this run.</param>
/// <param name="VirtualTimeNs">Virtual time that passed during this run.</param>
/// <param name="WallTime">Host time the run took.</param>
/// <param name="GuestErrors">Guest errors reported during the run.</param>
public sealed record MachineRunResult(
    VmStopReason Reason,
    int ExitStatus,
    string Message,
    long InstructionsRetired,
    long VirtualTimeNs,
    TimeSpan WallTime,
    long GuestErrors)
{
    /// <summary>Guest MIPS: retired instructions per host wall-clock microsecond.</summary>
    public double Mips => WallTime.Ticks <= 0 ? 0 : InstructionsRetired / WallTime.TotalSeconds / 1e6;

    /// <summary>A one-line description: "debug exit (status 1)", "triple fault (status 126)".</summary>
    public string Describe() => Reason switch
    {
        VmStopReason.DebugExit => $"debug exit, status {ExitStatus}",
        VmStopReason.TripleFault => $"triple fault, status {ExitStatus}",
        VmStopReason.Halted => $"halted, status {ExitStatus}",
        VmStopReason.TimeLimit => $"virtual-time limit reached, status {ExitStatus}",
        VmStopReason.InstructionLimit => $"instruction limit reached, status {ExitStatus}",
        _ => $"{Reason}, status {ExitStatus}",
    };
}
