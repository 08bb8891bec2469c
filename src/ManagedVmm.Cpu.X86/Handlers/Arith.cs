using ManagedVmm.Cpu.X86.Decoding;
using ManagedVmm.Cpu.X86.Spec;
using static ManagedVmm.Cpu.X86.Decoding.Operand;

namespace ManagedVmm.Cpu.X86;

/// <summary>ADD/OR/ADC/SBB/AND/SUB/XOR/CMP/TEST, INC/DEC/NEG/NOT, MUL/IMUL/DIV/IDIV, XADD, CMPXCHG*.</summary>
public sealed unsafe partial class X86Vcpu
{
    private void ExecAlu(ref DecodedInsn d, H op)
    {
        int size = d.Size;
        ulong b = ReadOperand(ref d, d.K1, d.R1, size);
        ulong ea = 0;
        ulong a;
        if (d.K0 == KReg)
        {
            a = ReadGpr(d.R0, size);
        }
        else
        {
            ea = EffectiveAddress(ref d);
            a = ReadMem(ea, size);
        }

        ulong r;
        CcOp cc;
        ulong carry = 0;
        switch (op)
        {
            case H.Add: r = a + b; cc = CcOp.Add; break;
            case H.Adc: carry = GetCF() ? 1UL : 0; r = a + b + carry; cc = CcOp.Adc; break;
            case H.Sub: case H.Cmp: r = a - b; cc = CcOp.Sub; break;
            case H.Sbb: carry = GetCF() ? 1UL : 0; r = a - b - carry; cc = CcOp.Sbb; break;
            case H.And: case H.Test: r = a & b; cc = CcOp.Logic; break;
            case H.Or: r = a | b; cc = CcOp.Logic; break;
            default: r = a ^ b; cc = CcOp.Logic; break;
        }

        if (op != H.Cmp && op != H.Test)
        {
            if (d.K0 == KReg)
            {
                WriteGpr(d.R0, size, r);
            }
            else
            {
                WriteMem(ea, size, r);
            }
        }

        SetCcWithCarry(cc, size, a, b, r, carry);
    }

    private void ExecUnary(ref DecodedInsn d, H op)
    {
        int size = d.Size;
        ulong ea = d.K0 == KMem ? EffectiveAddress(ref d) : 0;
        ulong a = d.K0 == KReg ? ReadGpr(d.R0, size) : ReadMem(ea, size);
        ulong r = op switch
        {
            H.Inc => a + 1,
            H.Dec => a - 1,
            H.Neg => 0 - a,
            _ => ~a,
        };
        ulong oldCf = op is H.Inc or H.Dec ? (GetCF() ? Spec.RFlags.CF : 0) : 0;
        if (d.K0 == KReg)
        {
            WriteGpr(d.R0, size, r);
        }
        else
        {
            WriteMem(ea, size, r);
        }

        switch (op)
        {
            case H.Inc: SetCcWithCarry(CcOp.Inc, size, a, 1, r, oldCf); break;
            case H.Dec: SetCcWithCarry(CcOp.Dec, size, a, 1, r, oldCf); break;
            case H.Neg: SetCc(CcOp.Sub, size, 0, a, r); break;
        }
    }

    private void ExecMulDiv(ref DecodedInsn d, H op)
    {
        int size = d.Size;
        if (op == H.Imul && d.K1 != KNone)
        {
            // Two- and three-operand IMUL: truncated product, CF = OF = the product did not fit.
            ulong x = d.K2 == KImm ? ReadOperand(ref d, d.K1, d.R1, size) : ReadGpr(d.R0, size);
            ulong y = d.K2 == KImm ? d.Imm : ReadOperand(ref d, d.K1, d.R1, size);
            long sx = SignExtend(x, size);
            long sy = SignExtend(y, size);
            Int128 full = (Int128)sx * sy;
            ulong r = (ulong)(long)full & Mask(size);
            bool overflow = full != SignExtend(r, size);
            WriteGpr(d.R0, size, r);
            SetArithFlags(ResultFlags(r, size) | (overflow ? Spec.RFlags.CF | Spec.RFlags.OF : 0));
            return;
        }

        ulong src = ReadOperand(ref d, d.K0, d.R0, size);
        switch (op)
        {
            case H.Mul: Mul(size, src); break;
            case H.Imul: Imul1(size, src); break;
            case H.Div: Div(size, src); break;
            default: Idiv(size, src); break;
        }
    }

    private static long SignExtend(ulong v, int size) => size switch
    {
        1 => (sbyte)v,
        2 => (short)v,
        4 => (int)v,
        _ => (long)v,
    };

    private void Mul(int size, ulong src)
    {
        ulong a = ReadGpr(0, size);
        ulong lo;
        ulong hi;
        if (size == 8)
        {
            hi = Math.BigMul(a, src, out lo);
        }
        else
        {
            ulong p = a * src;
            lo = p & Mask(size);
            hi = (p >> (size * 8)) & Mask(size);
        }

        StoreWide(size, lo, hi);
        SetArithFlags(ResultFlags(lo, size) | (hi != 0 ? Spec.RFlags.CF | Spec.RFlags.OF : 0));
    }

    private void Imul1(int size, ulong src)
    {
        long a = SignExtend(ReadGpr(0, size), size);
        Int128 p = (Int128)a * SignExtend(src, size);
        ulong lo = (ulong)(long)p & Mask(size);
        ulong hi = size == 8 ? (ulong)(p >> 64) : (ulong)(long)(p >> (size * 8)) & Mask(size);
        StoreWide(size, lo, hi);
        bool overflow = p != SignExtend(lo, size);
        SetArithFlags(ResultFlags(lo, size) | (overflow ? Spec.RFlags.CF | Spec.RFlags.OF : 0));
    }

    /// <summary>Stores a double-width result: AX for bytes, DX:AX, EDX:EAX, RDX:RAX otherwise.</summary>
    private void StoreWide(int size, ulong lo, ulong hi)
    {
        if (size == 1)
        {
            WriteGpr(0, 2, (hi << 8) | lo);
            return;
        }

        WriteGpr(0, size, lo);
        WriteGpr(2, size, hi);
    }

    private (ulong Lo, ulong Hi) LoadWide(int size) =>
        size == 1 ? ((byte)R[0], (byte)(R[0] >> 8)) : (ReadGpr(0, size), ReadGpr(2, size));

    private void Div(int size, ulong divisor)
    {
        if (divisor == 0)
        {
            RaiseFault(Vector.DE);
        }

        var (lo, hi) = LoadWide(size);
        UInt128 dividend = size == 8 ? new UInt128(hi, lo) : (UInt128)((hi << (size * 8)) | lo);
        UInt128 q = dividend / divisor;
        UInt128 rem = dividend % divisor;
        if (q > Mask(size))
        {
            RaiseFault(Vector.DE);
        }

        StoreQuotient(size, (ulong)q, (ulong)rem);
    }

    private void Idiv(int size, ulong divisorRaw)
    {
        long divisor = SignExtend(divisorRaw, size);
        if (divisor == 0)
        {
            RaiseFault(Vector.DE);
        }

        var (lo, hi) = LoadWide(size);
        Int128 dividend = size == 8
            ? (Int128)new UInt128(hi, lo)
            : (Int128)SignExtend((hi << (size * 8)) | lo, size * 2);
        if (size == 8 && dividend == Int128.MinValue && divisor == -1)
        {
            RaiseFault(Vector.DE);
        }

        Int128 q = dividend / divisor;
        Int128 rem = dividend % divisor;
        long min = size == 8 ? long.MinValue : -(long)s_signs[size];
        long max = size == 8 ? long.MaxValue : (long)s_signs[size] - 1;
        if (q < min || q > max)
        {
            RaiseFault(Vector.DE);
        }

        StoreQuotient(size, (ulong)(long)q & Mask(size), (ulong)(long)rem & Mask(size));
    }

    private void StoreQuotient(int size, ulong q, ulong rem)
    {
        if (size == 1)
        {
            WriteGpr(0, 2, (rem << 8) | (q & 0xFF));
            return;
        }

        WriteGpr(0, size, q);
        WriteGpr(2, size, rem);
    }

    private void ExecXadd(ref DecodedInsn d)
    {
        int size = d.Size;
        ulong b = ReadGpr(d.R1, size);
        ulong ea = d.K0 == KMem ? EffectiveAddress(ref d) : 0;
        ulong a = d.K0 == KReg ? ReadGpr(d.R0, size) : ReadMem(ea, size);
        ulong r = a + b;
        if (d.K0 == KReg)
        {
            WriteGpr(d.R1, size, a);
            WriteGpr(d.R0, size, r);
        }
        else
        {
            WriteMem(ea, size, r);
            WriteGpr(d.R1, size, a);
        }

        SetCc(CcOp.Add, size, a, b, r);
    }

    private void ExecCmpxchg(ref DecodedInsn d)
    {
        int size = d.Size;
        ulong ea = d.K0 == KMem ? EffectiveAddress(ref d) : 0;
        ulong dst = d.K0 == KReg ? ReadGpr(d.R0, size) : ReadMem(ea, size);
        ulong acc = ReadGpr(0, size);
        ulong src = ReadGpr(d.R1, size);
        bool equal = (acc & Mask(size)) == (dst & Mask(size));
        if (d.K0 == KReg)
        {
            if (equal)
            {
                WriteGpr(d.R0, size, src);
            }
            else
            {
                WriteGpr(0, size, dst);
            }
        }
        else
        {
            // The processor always writes the destination (the old value back when the compare fails).
            WriteMem(ea, size, equal ? src : dst);
            if (!equal)
            {
                WriteGpr(0, size, dst);
            }
        }

        SetCc(CcOp.Sub, size, acc, dst, acc - dst);
    }

    private void ExecCmpxchgWide(ref DecodedInsn d)
    {
        ulong ea = EffectiveAddress(ref d);
        bool wide = (H)d.Handler == H.Cmpxchg16b;
        if (wide && (ea & 0xF) != 0)
        {
            RaiseFault(Vector.GP, 0);
        }

        int half = wide ? 8 : 4;
        ProbeWrite(ea, half * 2);
        ulong lo = ReadMem(ea, half);
        ulong hi = ReadMem(ea + (ulong)half, half);
        bool equal = lo == ReadGpr(0, half) && hi == ReadGpr(2, half);
        if (equal)
        {
            WriteMem(ea, half, ReadGpr(3, half));
            WriteMem(ea + (ulong)half, half, ReadGpr(1, half));
        }
        else
        {
            WriteMem(ea, half, lo);
            WriteMem(ea + (ulong)half, half, hi);
            WriteGpr(0, half, lo);
            WriteGpr(2, half, hi);
        }

        ulong f = GetRFlags() & ~Spec.RFlags.ZF;
        SetArithFlags(equal ? f | Spec.RFlags.ZF : f);
    }
}
