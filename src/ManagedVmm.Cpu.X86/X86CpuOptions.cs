namespace ManagedVmm.Cpu.X86;

/// <summary>vCPU options (Options pattern; <c>services.AddX86Vcpu(o => ...)</c>).</summary>
public sealed class X86CpuOptions
{
    /// <summary>
    /// Virtual time per retired instruction in picoseconds (fractions of a nanosecond are kept, so 333 ps gives a
    /// nominal 3 GHz one-instruction-per-cycle CPU). Default 1000 ps = 1 ns (a nominal 1 GHz machine).
    /// </summary>
    public long InstructionTimePs { get; set; } = 1000;

    /// <summary>TSC frequency: <c>rdtsc</c> returns virtual ns × TscHz / 10^9. The boot-info block reports it.</summary>
    public ulong TscHz { get; set; } = 1_000_000_000;

    /// <summary>Local APIC timer input clock before the divide configuration (Hz).</summary>
    public ulong ApicTimerHz { get; set; } = 1_000_000_000;

    /// <summary>Initial local APIC ID (also CPUID.1:EBX[31:24] and the MADT entry).</summary>
    public byte ApicId { get; set; }

    /// <summary>Process exit status the run reports for a triple fault (debug-exit statuses are always odd).</summary>
    public int TripleFaultExitStatus { get; set; } = 0x7E;

    /// <summary>Process exit status for a guest that halts with nothing left to wake it.</summary>
    public int HaltedExitStatus { get; set; } = 0x7C;

    /// <summary>Unknown MSRs read as 0 and writes are dropped (logged), instead of #GP(0) as on hardware.</summary>
    public bool IgnoreUnknownMsrs { get; set; }

    /// <summary>Most iterations a REP string instruction runs before the run loop looks at time and interrupts.</summary>
    public int RepIterationsPerStep { get; set; } = 4096;
}
