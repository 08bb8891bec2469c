// ManagedVmm.Cpu.X86 — an x86-64 interpreter vCPU.
//
// Models: one x86-64 processor in 64-bit long mode at CPL 0 (Intel SDM, Vol. 1-3, 2023 edition), decoding with
// Iced and caching decoded instructions per 4 KiB guest-physical page (invalidated through GuestRam's page
// write-watch, so CPU stores and device DMA both invalidate). Integer instructions at every operand size with
// exact (lazily computed) flags, strings with REP, LOCK'ed atomics, the system instructions a freestanding
// kernel uses, the SSE/SSE2 integer moves and logic gcc emits for copies, four-level paging (4 KiB, 2 MiB,
// 1 GiB pages) with accessed/dirty bits behind a software TLB, exceptions and interrupts through the 64-bit
// IDT (double fault, triple fault → VM stop), and the xAPIC (Apic/LocalApic.cs).
//
// Leaves out: real, protected and compatibility modes; CPL 3 (SYSCALL/SYSRET, user pages are treated as
// supervisor pages); segment limit and descriptor checks (64-bit mode ignores them except FS/GS bases);
// x87, MMX, AVX and floating-point SSE arithmetic; debug registers, TF single-step, SMM, VMX; NMI and INIT;
// more than one vCPU. Anything not implemented raises #UD in the guest and logs the instruction.
using System.Runtime.CompilerServices;
using Iced.Intel;
using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Memory;
using ManagedVmm.Core.Time;
using ManagedVmm.Cpu.X86.Apic;
using ManagedVmm.Cpu.X86.Decoding;
using ManagedVmm.Cpu.X86.Spec;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Cpu.X86;

/// <summary>
/// The x86-64 vCPU: set its state (<see cref="ApplyInitialState"/> or the register properties), then call
/// <see cref="Run"/> until the <see cref="VmStopSignal"/> is raised or a limit is reached.
/// </summary>
public sealed unsafe partial class X86Vcpu
{
    public const string LogCategory = "ManagedVmm.Cpu";

    /// <summary>Instructions per slice when no deadline is near: bounds the time between stop-signal checks.</summary>
    private const long MaxSlice = 1 << 16;

    private readonly SystemMemory _memory;
    private readonly GuestRam _ram;
    private readonly PortIoBus _ports;
    private readonly EventScheduler _scheduler;
    private readonly VmStopSignal _stop;
    private readonly GuestErrorLog _guestErrors;
    private readonly ILogger _logger;
    private readonly X86CpuOptions _options;
    private readonly long _psPerInstruction;

    internal GprFile R;
    internal XmmFile X;

    private ulong _rip;
    private ulong _instrRip;
    private ulong _rflags = Spec.RFlags.Reserved1;
    private ulong _cr0;
    private ulong _cr2;
    private ulong _cr3;
    private ulong _cr4;
    private ulong _efer;
    private ulong _fsBase;
    private ulong _gsBase;
    private ulong _kernelGsBase;
    private ulong _trBase;
    private ushort _trLimit;
    private ushort _cs = 0x08;
    private ushort _ss = 0x10;
    private ushort _ds = 0x10;
    private ushort _es = 0x10;
    private ushort _fs = 0x10;
    private ushort _gs = 0x10;
    private ushort _tr;
    private ushort _ldtr;
    private uint _mxcsr = 0x1F80;
    private TableRegister _gdtr;
    private TableRegister _idtr;
    private ulong _tscOffset;
    private ulong _tscAux;
    private ulong _pat = 0x0007_0406_0007_0406;
    private ulong _star;
    private ulong _lstar;
    private ulong _cstar;
    private ulong _fmask;
    private ulong _miscEnable = 1;

    private long _slice;
    private long _retired;
    private long _retiredAtSync;
    private long _psCarry;
    private bool _halted;
    private bool _shadow;
    private bool _shutdown;

    public X86Vcpu(
        SystemMemory memory,
        PortIoBus ports,
        EventScheduler scheduler,
        VmStopSignal stop,
        LocalApic apic,
        IOptions<X86CpuOptions> options,
        GuestErrorLog guestErrors,
        ILoggerFactory? loggerFactory = null)
    {
        _memory = memory;
        _ram = memory.Ram;
        _ports = ports;
        _scheduler = scheduler;
        _stop = stop;
        Apic = apic;
        _options = options.Value;
        _guestErrors = guestErrors;
        _logger = loggerFactory?.CreateLogger(LogCategory) ?? NullLogger.Instance;
        if (_options.InstructionTimePs <= 0)
        {
            ThrowHelper.ThrowArgument(nameof(options), "X86CpuOptions.InstructionTimePs must be positive");
        }

        _psPerInstruction = _options.InstructionTimePs;
        _decoder = Decoder.Create(64, _reader, DecoderOptions.None);
        _ram.WatchedPageWritten += OnCodePageWritten;
        FlushTlb();
        ApplyInitialState(new X86InitialState());
    }

    public LocalApic Apic { get; }

    public X86CpuOptions Options => _options;

    /// <summary>Instructions retired since power-on.</summary>
    public long InstructionsRetired => _retired;

    /// <summary>True while the vCPU waits in HLT for an interrupt.</summary>
    public bool IsHalted => _halted;

    /// <summary>The instruction pointer. Setting it (the host redirecting execution) also ends a HLT wait.</summary>
    public ulong Rip
    {
        get => _rip;
        set
        {
            _rip = value;
            _halted = false;
        }
    }

    public ulong RFlags
    {
        get => GetRFlags();
        set => SetRFlags(value);
    }

    public ulong Cr0 => _cr0;

    public ulong Cr2 => _cr2;

    public ulong Cr3 => _cr3;

    public ulong Cr4 => _cr4;

    public ulong Efer => _efer;

    public ulong FsBase { get => _fsBase; set => _fsBase = value; }

    public ulong GsBase { get => _gsBase; set => _gsBase = value; }

    public TableRegister Gdtr { get => _gdtr; set => _gdtr = value; }

    public TableRegister Idtr { get => _idtr; set => _idtr = value; }

    public ushort Cs => _cs;

    public ushort Ss => _ss;

    public ushort Tr => _tr;

    /// <summary>A general-purpose register (64 bits).</summary>
    public ulong this[Gpr register]
    {
        get => R[(int)register];
        set => R[(int)register] = value;
    }

    /// <summary>Low and high quadwords of XMM<paramref name="index"/>.</summary>
    public (ulong Low, ulong High) GetXmm(int index) => (X[index * 2], X[(index * 2) + 1]);

    public void SetXmm(int index, ulong low, ulong high)
    {
        X[index * 2] = low;
        X[(index * 2) + 1] = high;
    }

    /// <summary>Sets the architectural state the boot code chose (registers not named are zeroed).</summary>
    public void ApplyInitialState(X86InitialState s)
    {
        R = default;
        X = default;
        R[(int)Gpr.Rsp] = s.Rsp;
        R[(int)Gpr.Rdi] = s.Rdi;
        R[(int)Gpr.Rsi] = s.Rsi;
        _rip = s.Rip;
        SetRFlags(s.RFlags);
        _cr0 = s.Cr0;
        _cr3 = s.Cr3;
        _cr4 = s.Cr4;
        _efer = s.Efer;
        _gdtr = s.Gdtr;
        _idtr = s.Idtr;
        _cs = s.Cs;
        _ss = s.Ss;
        _ds = _es = _fs = _gs = s.Ds;
        _tr = s.Tr;
        _trBase = 0;
        _trLimit = 0;
        _fsBase = _gsBase = _kernelGsBase = 0;
        _cr2 = 0;
        _halted = false;
        _shadow = false;
        _shutdown = false;
        if (s.Tr != 0)
        {
            TryLoadTaskRegisterCache(s.Tr);
        }

        FlushTlb();
    }

    /// <summary>
    /// Runs guest code until the stop signal is raised, <paramref name="limits"/> are reached, or the guest halts
    /// with nothing left to wake it (then the stop signal says <see cref="VmStopReason.Halted"/>). The virtual clock
    /// advances by <see cref="X86CpuOptions.InstructionTimePs"/> per retired instruction; due events fire at
    /// instruction boundaries; HLT jumps the clock to the next deadline.
    /// </summary>
    public RunResult Run(RunLimits limits)
    {
        long startRetired = _retired;
        long instructionLimit = limits.MaxInstructions == long.MaxValue ? long.MaxValue : _retired + limits.MaxInstructions;
        var reason = VmStopReason.None;
        while (true)
        {
            SyncClock();
            _scheduler.RunDue();
            if (_stop.IsRequested || _shutdown)
            {
                reason = _stop.IsRequested ? _stop.Reason : VmStopReason.TripleFault;
                break;
            }

            if (_retired >= instructionLimit)
            {
                reason = VmStopReason.InstructionLimit;
                break;
            }

            long now = _scheduler.Now;
            if (now >= limits.VirtualTimeLimitNs)
            {
                reason = VmStopReason.TimeLimit;
                break;
            }

            if (_shadow)
            {
                _shadow = false;
                _slice = 1;
                ExecuteSlice();
                continue;
            }

            if ((_rflags & Spec.RFlags.IF) != 0 && Apic.HasDeliverableInterrupt)
            {
                _halted = false;
                int vector = Apic.AcknowledgeInterrupt();
                DeliverEvent(vector, hasErrorCode: false, errorCode: 0, external: true);
                continue;
            }

            if (_halted)
            {
                if ((_rflags & Spec.RFlags.IF) == 0 || !_scheduler.TryGetNextDeadline(out long wake))
                {
                    _stop.Request(VmStopReason.Halted, _options.HaltedExitStatus,
                        $"vCPU halted at rip=0x{_rip:x} with {((_rflags & Spec.RFlags.IF) == 0 ? "interrupts disabled" : "no pending event")}");
                    continue;
                }

                _scheduler.AdvanceTo(Math.Min(wake, limits.VirtualTimeLimitNs));
                _psCarry = 0;
                continue;
            }

            long slice = Math.Min(MaxSlice, instructionLimit - _retired);
            long horizon = limits.VirtualTimeLimitNs;
            if (_scheduler.TryGetNextDeadline(out long deadline) && deadline < horizon)
            {
                horizon = deadline;
            }

            if (horizon != long.MaxValue)
            {
                long untilPs = ((horizon - now) * 1000) - _psCarry;
                long n = untilPs <= 0 ? 1 : ((untilPs + _psPerInstruction - 1) / _psPerInstruction);
                slice = Math.Min(slice, Math.Max(1, n));
            }

            _slice = slice;
            ExecuteSlice();
        }

        SyncClock();
        return new RunResult(reason, _retired - startRetired, _scheduler.Now);
    }

    /// <summary>Executes exactly one instruction (or delivers one pending interrupt); for tests and debuggers.</summary>
    public RunResult Step() => Run(new RunLimits(MaxInstructions: 1));

    private void ExecuteSlice()
    {
        try
        {
            while (_slice > 0)
            {
                _slice--;
                _instrRip = _rip;
                ref DecodedInsn d = ref Fetch();
                _rip = d.I.NextIP;
                Execute(ref d);
                _retired++;
            }
        }
        catch (GuestFaultException)
        {
            _rip = _instrRip;
            _slice = 0;
            DeliverEvent(_faultVector, _faultHasError, _faultError, external: false);
        }
    }

    /// <summary>Moves the virtual clock to account for the instructions retired since the last sync.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SyncClock()
    {
        long delta = _retired - _retiredAtSync;
        if (delta != 0)
        {
            _retiredAtSync = _retired;
            long ps = (delta * _psPerInstruction) + _psCarry;
            _scheduler.Tick(ps / 1000);
            _psCarry = ps % 1000;
        }
    }

    /// <summary>An I/O access or state change that devices or interrupts may observe: sync time, end the slice.</summary>
    private void EndSliceForDevices()
    {
        SyncClock();
        _slice = 0;
    }

    private void ReportGuestError(string message)
    {
        _guestErrors.Report("cpu", message);
    }
}
