namespace ManagedVmm.Core;

/// <summary>Why the machine stopped running guest code.</summary>
public enum VmStopReason
{
    None,

    /// <summary>The guest wrote the debug-exit port; <see cref="VmStopSignal.ExitStatus"/> is <c>(v &lt;&lt; 1) | 1</c>.</summary>
    DebugExit,

    /// <summary>A fault while delivering a double fault: real hardware would shut down.</summary>
    TripleFault,

    /// <summary>The virtual-time limit was reached.</summary>
    TimeLimit,

    /// <summary>The retired-instruction limit was reached.</summary>
    InstructionLimit,

    /// <summary>The guest halted with interrupts disabled and no event can wake it.</summary>
    Halted,

    /// <summary>The host asked to stop (Ctrl-C, a test).</summary>
    HostRequest,
}

/// <summary>
/// The one place that says "stop running guest code": a platform device (debug exit) or the vCPU (triple fault)
/// raises it, the run loop checks <see cref="IsRequested"/> (a field read) and ends the run.
/// </summary>
public sealed class VmStopSignal
{
    public bool IsRequested { get; private set; }

    public VmStopReason Reason { get; private set; }

    /// <summary>The process exit status the run should end with.</summary>
    public int ExitStatus { get; private set; }

    /// <summary>A human-readable diagnostic (the triple fault's state, say).</summary>
    public string Message { get; private set; } = string.Empty;

    /// <summary>Requests a stop; the first request wins.</summary>
    public void Request(VmStopReason reason, int exitStatus, string message)
    {
        if (IsRequested)
        {
            return;
        }

        IsRequested = true;
        Reason = reason;
        ExitStatus = exitStatus;
        Message = message;
    }

    /// <summary>Clears the request (a system reset, or the next run of a test).</summary>
    public void Clear()
    {
        IsRequested = false;
        Reason = VmStopReason.None;
        ExitStatus = 0;
        Message = string.Empty;
    }
}
