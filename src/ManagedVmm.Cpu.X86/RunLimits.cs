using ManagedVmm.Core;

namespace ManagedVmm.Cpu.X86;

/// <summary>When <see cref="X86Vcpu.Run"/> must return even if the guest has not stopped.</summary>
/// <param name="MaxInstructions">Retired instructions for this call (<see cref="long.MaxValue"/> for no limit).</param>
/// <param name="VirtualTimeLimitNs">Absolute virtual time (ns) at which to stop (<see cref="long.MaxValue"/> for none).</param>
public readonly record struct RunLimits(long MaxInstructions = long.MaxValue, long VirtualTimeLimitNs = long.MaxValue)
{
    public static RunLimits Unlimited => new(long.MaxValue, long.MaxValue);
}

/// <summary>What one <see cref="X86Vcpu.Run"/> call did.</summary>
/// <param name="Reason">Why it returned: the stop signal's reason, or a limit.</param>
/// <param name="InstructionsRetired">Instructions retired by this call.</param>
/// <param name="VirtualTimeNs">The virtual clock when it returned.</param>
public readonly record struct RunResult(VmStopReason Reason, long InstructionsRetired, long VirtualTimeNs);
