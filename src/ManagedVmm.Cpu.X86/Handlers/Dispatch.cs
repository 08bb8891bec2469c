using System.Runtime.CompilerServices;
using ManagedVmm.Cpu.X86.Decoding;
using ManagedVmm.Cpu.X86.Spec;
using static ManagedVmm.Cpu.X86.Decoding.Operand;

namespace ManagedVmm.Cpu.X86;

/// <summary>The dispatch switch and the operand accessors every handler uses.</summary>
public sealed unsafe partial class X86Vcpu
{
    private void Execute(ref DecodedInsn d)
    {
        switch ((H)d.Handler)
        {
            case H.Mov: ExecMov(ref d); return;
            case H.Add: case H.Or: case H.Adc: case H.Sbb: case H.And: case H.Sub: case H.Xor: case H.Cmp: case H.Test:
                ExecAlu(ref d, (H)d.Handler);
                return;
            case H.Jcc:
                if (Condition(d.Cond))
                {
                    _rip = d.Imm;
                }

                return;
            case H.Lea: WriteGpr(d.R0, d.Size, EffectiveAddressNoSegment(ref d)); return;
            case H.Push: ExecPush(ref d); return;
            case H.Pop: ExecPop(ref d); return;
            case H.Call: ExecCall(ref d); return;
            case H.Ret: ExecRet(ref d); return;
            case H.Jmp: ExecJmp(ref d); return;
            case H.Movzx: WriteGpr(d.R0, d.Size, ReadOperand(ref d, d.K1, d.R1, d.Size1)); return;
            case H.Movsx: case H.Movsxd: ExecMovsx(ref d); return;
            case H.Nop: return;
            case H.Inc: case H.Dec: case H.Neg: case H.Not: ExecUnary(ref d, (H)d.Handler); return;
            case H.Mul: case H.Imul: case H.Div: case H.Idiv: ExecMulDiv(ref d, (H)d.Handler); return;
            case H.Xadd: ExecXadd(ref d); return;
            case H.Cmpxchg: ExecCmpxchg(ref d); return;
            case H.Cmpxchg16b: case H.Cmpxchg8b: ExecCmpxchgWide(ref d); return;
            case H.Shl: case H.Shr: case H.Sar: case H.Rol: case H.Ror: case H.Rcl: case H.Rcr:
                ExecShift(ref d, (H)d.Handler);
                return;
            case H.Shld: case H.Shrd: ExecShiftDouble(ref d, (H)d.Handler == H.Shld); return;
            case H.Bt: case H.Bts: case H.Btr: case H.Btc: ExecBitTest(ref d, (H)d.Handler); return;
            case H.Bsf: case H.Bsr: case H.Tzcnt: case H.Lzcnt: case H.Popcnt: ExecBitScan(ref d, (H)d.Handler); return;
            case H.Andn: case H.Blsr: case H.Blsi: case H.Blsmsk: case H.Bextr: ExecBmi(ref d, (H)d.Handler); return;
            case H.Xchg: ExecXchg(ref d); return;
            case H.Cmovcc: ExecCmov(ref d); return;
            case H.Setcc: WriteOp0(ref d, Condition(d.Cond) ? 1UL : 0UL); return;
            case H.Bswap: ExecBswap(ref d); return;
            case H.Cbw: ExecCbw(ref d); return;
            case H.Cwd: ExecCwd(ref d); return;
            case H.Movnti: WriteOp0(ref d, ReadOperand(ref d, d.K1, d.R1, d.Size)); return;
            case H.Jrcxz: case H.Loop: case H.Loope: case H.Loopne: ExecLoop(ref d, (H)d.Handler); return;
            case H.Leave: ExecLeave(ref d); return;
            case H.Enter: ExecEnter(ref d); return;
            case H.Pushf: ExecPushf(ref d); return;
            case H.Popf: ExecPopf(ref d); return;
            case H.Lahf: ExecLahf(); return;
            case H.Sahf: ExecSahf(); return;
            case H.Clc: SetArithFlags(GetRFlags() & ~Spec.RFlags.CF); return;
            case H.Stc: SetArithFlags(GetRFlags() | Spec.RFlags.CF); return;
            case H.Cmc: SetArithFlags(GetRFlags() ^ Spec.RFlags.CF); return;
            case H.Cld: _rflags &= ~Spec.RFlags.DF; return;
            case H.Std: _rflags |= Spec.RFlags.DF; return;
            case H.Retf: ExecRetf(ref d); return;
            case H.Movs: ExecMovs(ref d); return;
            case H.Stos: ExecStos(ref d); return;
            case H.Lods: ExecLods(ref d); return;
            case H.Cmps: ExecCmps(ref d); return;
            case H.Scas: ExecScas(ref d); return;
            case H.In: ExecIn(ref d); return;
            case H.Out: ExecOut(ref d); return;
            case H.Cpuid: ExecCpuid(); return;
            case H.Rdtsc: ExecRdtsc(withAux: false); return;
            case H.Rdtscp: ExecRdtsc(withAux: true); return;
            case H.Rdmsr: ExecRdmsr(); return;
            case H.Wrmsr: ExecWrmsr(); return;
            case H.Lgdt: case H.Lidt: ExecLoadTable(ref d, (H)d.Handler == H.Lgdt); return;
            case H.Sgdt: case H.Sidt: ExecStoreTable(ref d, (H)d.Handler == H.Sgdt); return;
            case H.Ltr: ExecLtr(ref d); return;
            case H.Str: WriteOp0(ref d, _tr); return;
            case H.Lldt: _ldtr = (ushort)ReadOperand(ref d, d.K0, d.R0, 2); return;
            case H.MovCr: ExecMovCr(ref d); return;
            case H.MovSreg: ExecMovSreg(ref d); return;
            case H.Invlpg: InvalidatePage(EffectiveAddress(ref d)); return;
            case H.Cli: _rflags &= ~Spec.RFlags.IF; return;
            case H.Sti: ExecSti(); return;
            case H.Hlt: _halted = true; _slice = 0; return;
            case H.Int3: DeliverEvent(Vector.BP, false, 0, external: false); _slice = 0; return;
            case H.IntN: DeliverEvent((byte)d.Imm, false, 0, external: false); _slice = 0; return;
            case H.Int1: DeliverEvent(Vector.DB, false, 0, external: false); _slice = 0; return;
            case H.Ud: RaiseFault(Vector.UD); return;
            case H.Iretq: ExecIret(ref d); return;
            case H.Swapgs: (_gsBase, _kernelGsBase) = (_kernelGsBase, _gsBase); return;
            case H.Clts: _cr0 &= ~Spec.Cr0.TS; return;
            case H.Wbinvd: return;
            case H.Invalid: ExecUndefined(ref d, "invalid encoding"); return;
            default:
                if ((H)d.Handler >= H.Movdqa)
                {
                    ExecSse(ref d, (H)d.Handler);
                    return;
                }

                ExecUndefined(ref d, "not implemented");
                return;
        }
    }

    private void ExecUndefined(ref DecodedInsn d, string why)
    {
        if (_guestErrorsReported < MaxUndefinedReports)
        {
            _guestErrorsReported++;
            ReportGuestError($"#UD at rip=0x{_instrRip:x}: {FormatInstruction(in d.I)} ({why})");
        }

        RaiseFault(Vector.UD);
    }

    /// <summary>Undefined-instruction reports logged per vCPU; a guest looping on UD2 must not flood the log.</summary>
    private const int MaxUndefinedReports = 1000;

    private int _guestErrorsReported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadGpr(int r, int size)
    {
        if (size == 8)
        {
            return R[r];
        }

        if (size == 4)
        {
            return (uint)R[r];
        }

        if (size == 1)
        {
            return (r & HighByte) != 0 ? (byte)(R[r & 0xF] >> 8) : (byte)R[r];
        }

        return (ushort)R[r];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteGpr(int r, int size, ulong v)
    {
        switch (size)
        {
            case 8: R[r] = v; break;
            case 4: R[r] = (uint)v; break;
            case 2: R[r] = (R[r] & ~0xFFFFUL) | (ushort)v; break;
            default:
                if ((r & HighByte) != 0)
                {
                    int b = r & 0xF;
                    R[b] = (R[b] & ~0xFF00UL) | ((ulong)(byte)v << 8);
                }
                else
                {
                    R[r] = (R[r] & ~0xFFUL) | (byte)v;
                }

                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong EffectiveAddress(ref DecodedInsn d)
    {
        ulong ea = EffectiveAddressNoSegment(ref d);
        if ((d.Flags & (InsnFlags.SegFs | InsnFlags.SegGs)) != 0)
        {
            ea += (d.Flags & InsnFlags.SegFs) != 0 ? _fsBase : _gsBase;
        }

        return ea;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong EffectiveAddressNoSegment(ref DecodedInsn d)
    {
        ulong ea = d.I.MemoryDisplacement64;
        if (d.Base != NoReg)
        {
            ea += R[d.Base];
        }

        if (d.Index != NoReg)
        {
            ea += R[d.Index] << d.Scale;
        }

        if ((d.Flags & InsnFlags.Addr32) != 0)
        {
            ea = (uint)ea;
        }

        return ea;
    }

    /// <summary>Reads an operand of kind <paramref name="kind"/> (register number <paramref name="reg"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadOperand(ref DecodedInsn d, byte kind, byte reg, int size)
    {
        if (kind == KReg)
        {
            return ReadGpr(reg, size);
        }

        if (kind == KImm)
        {
            return d.Imm & Mask(size);
        }

        if (kind == KMem)
        {
            return ReadMem(EffectiveAddress(ref d), size);
        }

        return ReadSpecialOperand(reg);
    }

    private ulong ReadSpecialOperand(byte reg) => (Iced.Intel.Register)reg switch
    {
        Iced.Intel.Register.CS => _cs,
        Iced.Intel.Register.SS => _ss,
        Iced.Intel.Register.DS => _ds,
        Iced.Intel.Register.ES => _es,
        Iced.Intel.Register.FS => _fs,
        Iced.Intel.Register.GS => _gs,
        _ => 0,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteOp0(ref DecodedInsn d, ulong v)
    {
        if (d.K0 == KReg)
        {
            WriteGpr(d.R0, d.Size, v);
        }
        else
        {
            WriteMem(EffectiveAddress(ref d), d.Size, v);
        }
    }
}
