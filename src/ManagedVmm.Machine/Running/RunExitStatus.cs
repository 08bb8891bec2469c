namespace ManagedVmm.Machine.Running;

/// <summary>
/// The process exit statuses a run ends with (documented in docs/run.md). A debug-exit write of <c>v</c> gives
/// <c>(v &lt;&lt; 1) | 1</c>, always odd; every other way a run ends has a fixed even code, so a script can tell a
/// guest's own verdict from the machine stopping it.
/// </summary>
public static class RunExitStatus
{
    /// <summary>A configuration error before the guest starts (bad option, missing or bad image): the CLI's usage status.</summary>
    public const int ConfigurationError = 2;

    /// <summary>Triple fault (the vCPU's default <c>X86CpuOptions.TripleFaultExitStatus</c>).</summary>
    public const int TripleFault = 0x7E;

    /// <summary>Halted with nothing left to wake the vCPU (the vCPU's default <c>X86CpuOptions.HaltedExitStatus</c>).</summary>
    public const int Halted = 0x7C;

    /// <summary>The virtual-time limit (<c>--max-time</c>) was reached before the guest stopped.</summary>
    public const int TimeLimit = 0x7A;

    /// <summary>The instruction limit (<c>--max-instructions</c>) was reached before the guest stopped.</summary>
    public const int InstructionLimit = 0x78;

    /// <summary>The host asked the run to stop.</summary>
    public const int HostRequest = 0x76;

    /// <summary>The exit status of a debug-exit write of <paramref name="value"/> (as the device computes it).</summary>
    public static int ForDebugExit(uint value) => (int)(((ulong)value << 1) | 1);
}
