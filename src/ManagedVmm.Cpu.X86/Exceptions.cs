using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using ManagedVmm.Core;
using ManagedVmm.Cpu.X86.Spec;

namespace ManagedVmm.Cpu.X86;

/// <summary>
/// Thrown inside the interpreter to abandon the current instruction when it raises a guest exception (the
/// reference's suggestion: Bochs and QEMU use longjmp). The details live in the vCPU; one instance is reused.
/// Never escapes <see cref="X86Vcpu.Run"/>.
/// </summary>
internal sealed class GuestFaultException : Exception
{
    public static readonly GuestFaultException Instance = new();

    public GuestFaultException()
        : base("guest exception")
    {
    }

    public GuestFaultException(string message)
        : base(message)
    {
    }

    public GuestFaultException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Exceptions and interrupts: delivery through the 64-bit IDT, double and triple faults.</summary>
public sealed unsafe partial class X86Vcpu
{
    private int _faultVector;
    private bool _faultHasError;
    private uint _faultError;

    /// <summary>Exceptions delivered to the guest since power-on, by vector (0..31), and external interrupts.</summary>
    public long[] ExceptionCounts { get; } = new long[32];

    public long InterruptsDelivered { get; private set; }

    /// <summary>Raises a fault-class exception: the instruction is abandoned and RIP points back at it.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void RaiseFault(int vector, uint errorCode = 0)
    {
        _faultVector = vector;
        _faultHasError = Vector.HasErrorCode(vector);
        _faultError = errorCode;
        throw GuestFaultException.Instance;
    }

    /// <summary>Delivers an exception or interrupt, applying the double-fault rules (SDM Vol. 3A Table 6-5).</summary>
    private void DeliverEvent(int vector, bool hasErrorCode, uint errorCode, bool external)
    {
        if (vector < 32 && !external)
        {
            ExceptionCounts[vector]++;
        }
        else
        {
            InterruptsDelivered++;
        }

        _halted = false;
        int first = vector;
        int attempts = 0;
        while (true)
        {
            try
            {
                DeliverThroughIdt(vector, hasErrorCode, errorCode, external);
                return;
            }
            catch (GuestFaultException)
            {
                int second = _faultVector;
                if (vector == Vector.DF || ++attempts > 3)
                {
                    TripleFault($"#{second} while delivering #DF (first exception: vector {first})");
                    return;
                }

                bool firstContributory = Vector.IsContributory(vector);
                bool secondContributoryOrPf = Vector.IsContributory(second) || second == Vector.PF;
                if ((firstContributory && Vector.IsContributory(second)) || (vector == Vector.PF && secondContributoryOrPf))
                {
                    vector = Vector.DF;
                    hasErrorCode = true;
                    errorCode = 0;
                }
                else
                {
                    vector = second;
                    hasErrorCode = _faultHasError;
                    errorCode = _faultError;
                }

                external = false;
                if (vector < 32)
                {
                    ExceptionCounts[vector]++;
                }
            }
        }
    }

    private void DeliverThroughIdt(int vector, bool hasErrorCode, uint errorCode, bool external)
    {
        uint ext = external ? 1u : 0u;
        uint idtError = ((uint)vector * 8) + 2 + ext;
        if (((ulong)vector * 16) + 15 > _idtr.Limit)
        {
            RaiseFault(Vector.GP, idtError);
        }

        ulong gateAddr = _idtr.Base + ((ulong)vector * 16);
        ulong lo = ReadMem(gateAddr, 8);
        ulong hi = ReadMem(gateAddr + 8, 8);
        int type = (int)(lo >> 40) & 0xF;
        if (type != 0xE && type != 0xF)
        {
            RaiseFault(Vector.GP, idtError);
        }

        if (((lo >> 47) & 1) == 0)
        {
            RaiseFault(Vector.NP, idtError);
        }

        ushort selector = (ushort)(lo >> 16);
        if ((selector & ~7) == 0)
        {
            RaiseFault(Vector.GP, ext);
        }

        int ist = (int)(lo >> 32) & 7;
        ulong target = (lo & 0xFFFF) | (((lo >> 48) & 0xFFFF) << 16) | (hi << 32);
        ulong rsp = R[(int)Gpr.Rsp];
        if (ist != 0)
        {
            rsp = ReadMem(_trBase + 0x24 + ((ulong)(ist - 1) * 8), 8);
        }

        rsp &= ~0xFUL;
        ulong flags = GetRFlags();
        int frame = hasErrorCode ? 6 : 5;
        ulong top = rsp - ((ulong)frame * 8);
        ProbeWrite(top, frame * 8);
        WriteMem(rsp - 8, 8, _ss);
        WriteMem(rsp - 16, 8, R[(int)Gpr.Rsp]);
        WriteMem(rsp - 24, 8, flags);
        WriteMem(rsp - 32, 8, _cs);
        WriteMem(rsp - 40, 8, _rip);
        if (hasErrorCode)
        {
            WriteMem(rsp - 48, 8, errorCode);
        }

        R[(int)Gpr.Rsp] = top;
        _cs = selector;
        _rip = target;
        ulong clear = Spec.RFlags.TF | Spec.RFlags.NT | Spec.RFlags.RF | (type == 0xE ? Spec.RFlags.IF : 0);
        _rflags = flags & ~clear;
        _shadow = false;
    }

    private void TripleFault(string why)
    {
        _shutdown = true;
        _slice = 0;
        string message = $"triple fault: {why}\n{DumpState()}";
        _guestErrors.Report("cpu", message);
        _stop.Request(VmStopReason.TripleFault, _options.TripleFaultExitStatus, message);
    }

    /// <summary>Registers, control state and the instruction at RIP, for diagnostics.</summary>
    public string DumpState()
    {
        var sb = new StringBuilder();
        string[] names = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
        for (int i = 0; i < 16; i++)
        {
            sb.Append($"{names[i],3}=0x{R[i]:x16}").Append(i % 4 == 3 ? '\n' : ' ');
        }

        sb.Append($"rip=0x{_rip:x16} rflags=0x{GetRFlags():x} cs=0x{_cs:x} ss=0x{_ss:x} tr=0x{_tr:x}\n");
        sb.Append($"cr0=0x{_cr0:x} cr2=0x{_cr2:x} cr3=0x{_cr3:x} cr4=0x{_cr4:x} efer=0x{_efer:x}\n");
        sb.Append($"gdtr=0x{_gdtr.Base:x}/0x{_gdtr.Limit:x} idtr=0x{_idtr.Base:x}/0x{_idtr.Limit:x} fs.base=0x{_fsBase:x} gs.base=0x{_gsBase:x}\n");
        sb.Append($"retired={_retired} at rip: {Disassemble(_rip)}");
        return sb.ToString();
    }
}
