// Local APIC (xAPIC mode) — Intel SDM Vol. 3A chapter 11 ("Advanced Programmable Interrupt Controller").
//
// Models: the 4 KiB register page at 0xFEE00000 (ID, version, TPR/PPR, EOI, LDR/DFR, SVR software enable,
// ISR/TMR/IRR with priority classes, ESR, ICR self-IPIs, the LVT timer in one-shot and periodic mode with the
// divide configuration, running on the virtual clock, LVT LINT0/LINT1/error/thermal/perf stored as written),
// IA32_APIC_BASE, and MSI delivery (address 0xFEExxxxx, data = vector, fixed or lowest-priority mode).
//
// Leaves out: x2APIC, the TSC-deadline timer mode, level-triggered delivery (TMR stays 0: no I/O APIC), NMI/SMI/
// INIT/SIPI delivery modes, IPIs to other CPUs, moving the APIC base, and LINT pins (nothing drives them).
using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Core.Time;
using ManagedVmm.Cpu.X86.Spec;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Cpu.X86.Apic;

/// <summary>The local APIC of the single vCPU: an MMIO device and the machine's MSI target.</summary>
public sealed class LocalApic : IMmioDevice, IMsiTarget, IResettable
{
    private readonly EventScheduler _scheduler;
    private readonly GuestErrorLog _guestErrors;
    private readonly VirtualTimer _timer;
    private readonly ulong _timerHz;
    private readonly uint[] _irr = new uint[8];
    private readonly uint[] _isr = new uint[8];
    private readonly uint[] _tmr = new uint[8];

    private uint _svr;
    private uint _ldr;
    private uint _dfr;
    private uint _esr;
    private uint _icrLow;
    private uint _icrHigh;
    private uint _lvtTimer;
    private uint _lvtLint0;
    private uint _lvtLint1;
    private uint _lvtError;
    private uint _lvtThermal;
    private uint _lvtPerf;
    private uint _lvtCmci;
    private uint _initialCount;
    private uint _divideConfig;
    private long _timerStartNs;
    private bool _timerRunning;

    public LocalApic(EventScheduler scheduler, IOptions<X86CpuOptions> options, GuestErrorLog guestErrors)
    {
        _scheduler = scheduler;
        _guestErrors = guestErrors;
        _timerHz = Math.Max(1, options.Value.ApicTimerHz);
        Id = options.Value.ApicId;
        _timer = scheduler.CreateTimer("lapic-timer", OnTimer);
        Reset(ResetKind.System);
    }

    public byte Id { get; private set; }

    /// <summary>IA32_APIC_BASE (base 0xFEE00000, global enable, BSP).</summary>
    public ulong BaseMsr { get; private set; }

    /// <summary>Task-priority register (bits 7:0).</summary>
    public uint Tpr { get; set; }

    /// <summary>True when an interrupt in IRR outranks the processor priority and the APIC is enabled.</summary>
    public bool HasDeliverableInterrupt { get; private set; }

    /// <summary>Interrupts accepted (MSIs, timer, self-IPIs) since reset.</summary>
    public long InterruptsAccepted { get; private set; }

    public long TimerFirings { get; private set; }

    public bool SoftwareEnabled => (_svr & ApicRegister.SvrEnable) != 0 && (BaseMsr & Msr.ApicBaseEnable) != 0;

    public void Reset(ResetKind kind)
    {
        Array.Clear(_irr);
        Array.Clear(_isr);
        Array.Clear(_tmr);
        _svr = 0xFF;
        _ldr = 0;
        _dfr = 0xFFFF_FFFF;
        _esr = 0;
        _icrLow = _icrHigh = 0;
        _lvtTimer = _lvtLint0 = _lvtLint1 = _lvtError = _lvtThermal = _lvtPerf = _lvtCmci = ApicRegister.LvtMasked;
        _initialCount = 0;
        _divideConfig = 0;
        _timerRunning = false;
        _timer.Cancel();
        Tpr = 0;
        BaseMsr = ApicRegister.DefaultBase | Msr.ApicBaseEnable | Msr.ApicBaseBsp;
        Update();
    }

    /// <summary>Accepts a fixed interrupt: sets its IRR bit (vectors 0..15 are illegal and set ESR instead).</summary>
    public void Accept(int vector)
    {
        if (vector < 16)
        {
            _esr |= 1 << 6; // received illegal vector
            _guestErrors.Report("lapic", $"interrupt with illegal vector {vector} dropped");
            return;
        }

        _irr[vector >> 5] |= 1u << (vector & 31);
        InterruptsAccepted++;
        Update();
    }

    /// <summary>Moves the highest deliverable vector from IRR to ISR and returns it (the CPU's INTA cycle).</summary>
    public int AcknowledgeInterrupt()
    {
        int v = Highest(_irr);
        if (v < 0)
        {
            return SpuriousVector;
        }

        _irr[v >> 5] &= ~(1u << (v & 31));
        _isr[v >> 5] |= 1u << (v & 31);
        Update();
        return v;
    }

    private int SpuriousVector => (int)(_svr & 0xFF);

    public void Signal(Bdf requester, MsiMessage message)
    {
        if (!message.IsInX86Window)
        {
            _guestErrors.Report("lapic", $"{message} from {requester} outside the MSI window dropped");
            return;
        }

        int mode = (int)(message.Data >> 8) & 7;
        byte dest = message.DestinationApicId;
        bool logical = (message.Address & (1 << 2)) != 0;
        if (mode is not (0 or 1))
        {
            _guestErrors.Report("lapic", $"{message} from {requester}: delivery mode {mode} not modelled, dropped");
            return;
        }

        if (!logical && dest != Id && dest != 0xFF)
        {
            _guestErrors.Report("lapic", $"{message} from {requester}: destination APIC {dest} does not exist, dropped");
            return;
        }

        Accept(message.Vector);
    }

    public bool WriteBaseMsr(ulong value)
    {
        const ulong extd = 1 << 10;
        if ((value & extd) != 0 || (value & ~(0xFF_FFFF_F000UL | Msr.ApicBaseEnable | Msr.ApicBaseBsp | extd)) != 0)
        {
            return false; // x2APIC not offered (CPUID.1:ECX.x2APIC = 0); reserved bits
        }

        if ((value & ~0xFFFUL) != ApicRegister.DefaultBase)
        {
            _guestErrors.Report("lapic", $"IA32_APIC_BASE moved to 0x{value & ~0xFFFUL:x}: relocation not modelled, page stays at 0xfee00000");
        }

        BaseMsr = (value & ~0xFFFUL) | (value & (Msr.ApicBaseEnable | Msr.ApicBaseBsp));
        Update();
        return true;
    }

    public void Read(ulong offset, Span<byte> data)
    {
        uint v = ReadRegister((int)(offset & 0xFF0));
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(word, v);
        int start = (int)(offset & 0xF);
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = start + i < 4 ? word[start + i] : (byte)0;
        }

        if (data.Length != 4 || start != 0)
        {
            _guestErrors.Report("lapic", $"{data.Length}-byte read at offset 0x{offset:x}: registers are 32-bit aligned");
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.Length < 4 || (offset & 0xF) != 0)
        {
            _guestErrors.Report("lapic", $"{data.Length}-byte write at offset 0x{offset:x} ignored: registers are 32-bit aligned");
            return;
        }

        WriteRegister((int)offset, BinaryPrimitives.ReadUInt32LittleEndian(data));
    }

    public uint ReadRegister(int reg)
    {
        switch (reg)
        {
            case ApicRegister.Id: return (uint)Id << 24;
            case ApicRegister.Version: return ApicRegister.VersionValue;
            case ApicRegister.Tpr: return Tpr;
            case ApicRegister.Apr: return 0;
            case ApicRegister.Ppr: return Ppr();
            case ApicRegister.Ldr: return _ldr;
            case ApicRegister.Dfr: return _dfr;
            case ApicRegister.Svr: return _svr;
            case >= ApicRegister.IsrBase and < ApicRegister.TmrBase: return _isr[(reg - ApicRegister.IsrBase) >> 4];
            case >= ApicRegister.TmrBase and < ApicRegister.IrrBase: return _tmr[(reg - ApicRegister.TmrBase) >> 4];
            case >= ApicRegister.IrrBase and < ApicRegister.Esr: return _irr[(reg - ApicRegister.IrrBase) >> 4];
            case ApicRegister.Esr: return _esr;
            case ApicRegister.IcrLow: return _icrLow & ~ApicRegister.LvtDeliveryStatus;
            case ApicRegister.IcrHigh: return _icrHigh;
            case ApicRegister.LvtTimer: return _lvtTimer;
            case ApicRegister.LvtThermal: return _lvtThermal;
            case ApicRegister.LvtPerf: return _lvtPerf;
            case ApicRegister.LvtLint0: return _lvtLint0;
            case ApicRegister.LvtLint1: return _lvtLint1;
            case ApicRegister.LvtError: return _lvtError;
            case ApicRegister.LvtCmci: return _lvtCmci;
            case ApicRegister.TimerInitialCount: return _initialCount;
            case ApicRegister.TimerCurrentCount: return CurrentCount();
            case ApicRegister.TimerDivide: return _divideConfig;
            default: return 0;
        }
    }

    public void WriteRegister(int reg, uint v)
    {
        switch (reg)
        {
            case ApicRegister.Tpr: Tpr = v & 0xFF; break;
            case ApicRegister.Eoi: Eoi(); break;
            case ApicRegister.Ldr: _ldr = v & 0xFF00_0000; break;
            case ApicRegister.Dfr: _dfr = v | 0x0FFF_FFFF; break;
            case ApicRegister.Svr:
                _svr = v & 0x13FF;
                if (!SoftwareEnabled)
                {
                    // Software disable masks every LVT entry (SDM §11.4.7.2).
                    _lvtTimer |= ApicRegister.LvtMasked;
                    _lvtLint0 |= ApicRegister.LvtMasked;
                    _lvtLint1 |= ApicRegister.LvtMasked;
                    _lvtError |= ApicRegister.LvtMasked;
                    _lvtThermal |= ApicRegister.LvtMasked;
                    _lvtPerf |= ApicRegister.LvtMasked;
                    _lvtCmci |= ApicRegister.LvtMasked;
                }

                break;
            case ApicRegister.Esr: _esr = 0; break;
            case ApicRegister.IcrHigh: _icrHigh = v & 0xFF00_0000; break;
            case ApicRegister.IcrLow: WriteIcr(v); break;
            case ApicRegister.LvtTimer: _lvtTimer = MaskIfDisabled(v & 0x700FF); break;
            case ApicRegister.LvtThermal: _lvtThermal = MaskIfDisabled(v & 0x107FF); break;
            case ApicRegister.LvtPerf: _lvtPerf = MaskIfDisabled(v & 0x107FF); break;
            case ApicRegister.LvtLint0: _lvtLint0 = MaskIfDisabled(v & 0x1A7FF); break;
            case ApicRegister.LvtLint1: _lvtLint1 = MaskIfDisabled(v & 0x1A7FF); break;
            case ApicRegister.LvtError: _lvtError = MaskIfDisabled(v & 0x100FF); break;
            case ApicRegister.LvtCmci: _lvtCmci = MaskIfDisabled(v & 0x107FF); break;
            case ApicRegister.TimerInitialCount: StartTimer(v); break;
            case ApicRegister.TimerDivide:
                _divideConfig = v & 0xB;
                break;
            case ApicRegister.Id or ApicRegister.Version or ApicRegister.Ppr or ApicRegister.TimerCurrentCount
                or (>= ApicRegister.IsrBase and < ApicRegister.Esr):
                _guestErrors.Report("lapic", $"write of 0x{v:x} to read-only register 0x{reg:x} ignored");
                break;
            default:
                _guestErrors.Report("lapic", $"write of 0x{v:x} to reserved offset 0x{reg:x} ignored");
                break;
        }

        if (((_lvtTimer >> ApicRegister.LvtTimerModeShift) & 3) == 2)
        {
            _guestErrors.Report("lapic", "TSC-deadline timer mode is not offered (CPUID.1:ECX[24] = 0); timer treated as one-shot");
            _lvtTimer &= ~(3u << ApicRegister.LvtTimerModeShift);
        }

        Update();
    }

    private uint MaskIfDisabled(uint v) => SoftwareEnabled ? v : v | ApicRegister.LvtMasked;

    private void WriteIcr(uint v)
    {
        _icrLow = v & 0xFFF_FFFF;
        int shorthand = (int)(v >> 18) & 3;
        int mode = (int)(v >> 8) & 7;
        int vector = (int)(v & 0xFF);
        bool toSelf = shorthand == 1 || shorthand == 2 || (shorthand == 0 && (_icrHigh >> 24) == Id && (v & (1 << 11)) == 0);
        if (mode == 0 && toSelf)
        {
            Accept(vector);
            return;
        }

        _guestErrors.Report("lapic", $"IPI 0x{v:x} (mode {mode}, shorthand {shorthand}) to another CPU ignored: single vCPU");
    }

    private void Eoi()
    {
        int v = Highest(_isr);
        if (v >= 0)
        {
            _isr[v >> 5] &= ~(1u << (v & 31));
        }
    }

    private uint Ppr()
    {
        int isrv = Math.Max(0, Highest(_isr));
        return (Tpr & 0xF0) >= (uint)(isrv & 0xF0) ? Tpr & 0xFF : (uint)(isrv & 0xF0);
    }

    private void Update()
    {
        int v = Highest(_irr);
        HasDeliverableInterrupt = v >= 0 && SoftwareEnabled && (v & 0xF0) > (Ppr() & 0xF0);
    }

    private static int Highest(uint[] bits)
    {
        for (int i = 7; i >= 0; i--)
        {
            if (bits[i] != 0)
            {
                return (i * 32) + 31 - System.Numerics.BitOperations.LeadingZeroCount(bits[i]);
            }
        }

        return -1;
    }

    // ---- timer ----

    /// <summary>Divide value from the divide-configuration register (bits 0, 1, 3).</summary>
    private int Divider()
    {
        int code = (int)((_divideConfig & 3) | ((_divideConfig >> 1) & 4));
        return code == 7 ? 1 : 2 << code;
    }

    /// <summary>Virtual nanoseconds for <paramref name="ticks"/> timer ticks at the current divider.</summary>
    private long TicksToNs(ulong ticks) =>
        (long)UInt128.Min((UInt128)ticks * (ulong)Divider() * 1_000_000_000UL / _timerHz, (UInt128)(long.MaxValue / 2));

    private void StartTimer(uint count)
    {
        _initialCount = count;
        _timer.Cancel();
        _timerRunning = count != 0;
        if (_timerRunning)
        {
            _timerStartNs = _scheduler.Now;
            _timer.ArmAt(_timerStartNs + Math.Max(1, TicksToNs(count)));
        }
    }

    private uint CurrentCount()
    {
        if (!_timerRunning || _initialCount == 0)
        {
            return 0;
        }

        long elapsed = _scheduler.Now - _timerStartNs;
        ulong ticks = (ulong)((UInt128)(ulong)Math.Max(0, elapsed) * _timerHz / (1_000_000_000UL * (ulong)Divider()));
        return ticks >= _initialCount ? 0 : _initialCount - (uint)ticks;
    }

    private void OnTimer(long now)
    {
        TimerFirings++;
        if ((_lvtTimer & ApicRegister.LvtMasked) == 0)
        {
            Accept((int)(_lvtTimer & 0xFF));
        }

        bool periodic = ((_lvtTimer >> ApicRegister.LvtTimerModeShift) & 3) == 1;
        if (periodic && _initialCount != 0)
        {
            _timerStartNs = now;
            _timer.ArmAt(now + Math.Max(1, TicksToNs(_initialCount)));
        }
        else
        {
            _timerRunning = false;
        }
    }
}
