using System.Numerics;
using ManagedVmm.Cpu.X86.Decoding;
using ManagedVmm.Cpu.X86.Spec;
using static ManagedVmm.Cpu.X86.Decoding.Operand;

namespace ManagedVmm.Cpu.X86;

/// <summary>Shifts and rotates (incl. SHLD/SHRD), BT*, BSF/BSR/TZCNT/LZCNT/POPCNT and the BMI1 group.</summary>
public sealed unsafe partial class X86Vcpu
{
    private void ExecShift(ref DecodedInsn d, H op)
    {
        int size = d.Size;
        int bits = size * 8;
        int count = (int)(d.K1 == KReg ? R[1] : d.Imm) & (size == 8 ? 63 : 31);
        if (count == 0)
        {
            // Flags are unchanged; a 32-bit register destination is still written (upper half cleared).
            if (d.K0 == KReg && size == 4)
            {
                WriteGpr(d.R0, 4, R[d.R0]);
            }

            return;
        }

        ulong ea = d.K0 == KMem ? EffectiveAddress(ref d) : 0;
        ulong a = (d.K0 == KReg ? ReadGpr(d.R0, size) : ReadMem(ea, size)) & Mask(size);
        ulong r;
        ulong sign = s_signs[size];
        switch (op)
        {
            case H.Shl:
                r = count >= bits ? 0 : (a << count) & Mask(size);
                Store(ref d, ea, r);
                SetCc(CcOp.Shl, size, a, (ulong)count, r);
                return;
            case H.Shr:
                r = count >= bits ? 0 : a >> count;
                Store(ref d, ea, r);
                SetCc(CcOp.Shr, size, a, (ulong)count, r);
                return;
            case H.Sar:
            {
                long sa = SignExtend(a, size);
                r = (ulong)(sa >> Math.Min(count, 63)) & Mask(size);
                Store(ref d, ea, r);
                SetCc(CcOp.Sar, size, a, (ulong)count, r);
                return;
            }

            case H.Rol:
            case H.Ror:
            {
                int n = count % bits;
                r = n == 0 ? a : op == H.Rol
                    ? ((a << n) | (a >> (bits - n))) & Mask(size)
                    : ((a >> n) | (a << (bits - n))) & Mask(size);
                Store(ref d, ea, r);
                ulong f = GetRFlags() & ~(Spec.RFlags.CF | Spec.RFlags.OF);
                bool cf;
                bool of;
                if (op == H.Rol)
                {
                    cf = (r & 1) != 0;
                    of = ((r & sign) != 0) ^ cf;
                }
                else
                {
                    cf = (r & sign) != 0;
                    of = cf ^ ((r & (sign >> 1)) != 0);
                }

                SetArithFlags(f | (cf ? Spec.RFlags.CF : 0) | (of ? Spec.RFlags.OF : 0));
                return;
            }

            default:
            {
                // RCL/RCR rotate through CF: a (bits+1)-bit rotation, done one bit at a time (count ≤ 63).
                int n = count % (bits + 1);
                bool cf = GetCF();
                r = a;
                for (int i = 0; i < n; i++)
                {
                    if (op == H.Rcl)
                    {
                        bool outBit = (r & sign) != 0;
                        r = ((r << 1) | (cf ? 1UL : 0)) & Mask(size);
                        cf = outBit;
                    }
                    else
                    {
                        bool outBit = (r & 1) != 0;
                        r = (r >> 1) | (cf ? sign : 0);
                        cf = outBit;
                    }
                }

                Store(ref d, ea, r);
                bool of = op == H.Rcl
                    ? ((r & sign) != 0) ^ cf
                    : ((r & sign) != 0) ^ ((r & (sign >> 1)) != 0);
                ulong f = GetRFlags() & ~(Spec.RFlags.CF | Spec.RFlags.OF);
                SetArithFlags(f | (cf ? Spec.RFlags.CF : 0) | (of ? Spec.RFlags.OF : 0));
                return;
            }
        }
    }

    private void Store(ref DecodedInsn d, ulong ea, ulong value)
    {
        if (d.K0 == KReg)
        {
            WriteGpr(d.R0, d.Size, value);
        }
        else
        {
            WriteMem(ea, d.Size, value);
        }
    }

    private void ExecShiftDouble(ref DecodedInsn d, bool left)
    {
        int size = d.Size;
        int bits = size * 8;
        int count = (int)(d.K2 == KReg ? R[1] : d.Imm) & (size == 8 ? 63 : 31);
        if (count == 0)
        {
            return;
        }

        ulong ea = d.K0 == KMem ? EffectiveAddress(ref d) : 0;
        ulong a = (d.K0 == KReg ? ReadGpr(d.R0, size) : ReadMem(ea, size)) & Mask(size);
        ulong b = ReadGpr(d.R1, size);
        ulong r;
        bool cf;
        if (count > bits)
        {
            // Undefined for 16-bit operands with counts above 16; this mirrors a 32-bit funnel shift.
            count %= bits;
            if (count == 0)
            {
                return;
            }
        }

        if (left)
        {
            r = count == bits ? b : ((a << count) | (b >> (bits - count))) & Mask(size);
            cf = ((a >> (bits - count)) & 1) != 0;
        }
        else
        {
            r = count == bits ? b : ((a >> count) | (b << (bits - count))) & Mask(size);
            cf = ((a >> (count - 1)) & 1) != 0;
        }

        Store(ref d, ea, r);
        bool of = ((a ^ r) & s_signs[size]) != 0;
        SetArithFlags(ResultFlags(r, size) | (cf ? Spec.RFlags.CF : 0) | (of ? Spec.RFlags.OF : 0));
    }

    private void ExecBitTest(ref DecodedInsn d, H op)
    {
        int size = d.Size;
        int bits = size * 8;
        ulong ea = 0;
        int bit;
        if (d.K1 == KImm)
        {
            bit = (int)(d.Imm & (ulong)(bits - 1));
            if (d.K0 == KMem)
            {
                ea = EffectiveAddress(ref d);
            }
        }
        else
        {
            ulong offset = ReadGpr(d.R1, size);
            bit = (int)(offset & (ulong)(bits - 1));
            if (d.K0 == KMem)
            {
                // A register bit offset addresses memory beyond the operand (signed, in operand-size units).
                long units = SignExtend(offset, size) >> BitOperations.Log2((uint)bits);
                ea = EffectiveAddress(ref d) + (ulong)(units * size);
            }
        }

        ulong v = d.K0 == KReg ? ReadGpr(d.R0, size) : ReadMem(ea, size);
        ulong m = 1UL << bit;
        bool cf = (v & m) != 0;
        if (op != H.Bt)
        {
            ulong nv = op switch { H.Bts => v | m, H.Btr => v & ~m, _ => v ^ m };
            if (d.K0 == KReg)
            {
                WriteGpr(d.R0, size, nv);
            }
            else
            {
                WriteMem(ea, size, nv);
            }
        }

        ulong f = GetRFlags() & ~Spec.RFlags.CF;
        SetArithFlags(cf ? f | Spec.RFlags.CF : f);
    }

    private void ExecBitScan(ref DecodedInsn d, H op)
    {
        int size = d.Size;
        int bits = size * 8;
        ulong src = ReadOperand(ref d, d.K1, d.R1, size) & Mask(size);
        ulong f = GetRFlags() & ~Spec.RFlags.Arith;
        switch (op)
        {
            case H.Bsf:
            case H.Bsr:
                if (src == 0)
                {
                    SetArithFlags(f | Spec.RFlags.ZF);
                    return; // destination unchanged (as AMD documents and Intel CPUs do)
                }

                WriteGpr(d.R0, size, op == H.Bsf ? (ulong)BitOperations.TrailingZeroCount(src) : (ulong)BitOperations.Log2(src));
                SetArithFlags(f);
                return;
            case H.Tzcnt:
            {
                ulong r = src == 0 ? (ulong)bits : (ulong)BitOperations.TrailingZeroCount(src);
                WriteGpr(d.R0, size, r);
                SetArithFlags(f | (src == 0 ? Spec.RFlags.CF : 0) | (r == 0 ? Spec.RFlags.ZF : 0));
                return;
            }

            case H.Lzcnt:
            {
                ulong r = src == 0 ? (ulong)bits : (ulong)(bits - 1 - BitOperations.Log2(src));
                WriteGpr(d.R0, size, r);
                SetArithFlags(f | (src == 0 ? Spec.RFlags.CF : 0) | (r == 0 ? Spec.RFlags.ZF : 0));
                return;
            }

            default:
                WriteGpr(d.R0, size, (ulong)BitOperations.PopCount(src));
                SetArithFlags(f | (src == 0 ? Spec.RFlags.ZF : 0));
                return;
        }
    }

    private void ExecBmi(ref DecodedInsn d, H op)
    {
        int size = d.Size;
        ulong r;
        ulong f = GetRFlags() & ~Spec.RFlags.Arith;
        switch (op)
        {
            case H.Andn:
            {
                ulong a = ReadGpr(d.R1, size);
                ulong b = ReadOperand(ref d, d.K2, d.R2, size);
                r = ~a & b & Mask(size);
                break;
            }

            case H.Bextr:
            {
                ulong src = ReadOperand(ref d, d.K1, d.R1, size);
                ulong ctl = ReadGpr(d.R2, size);
                int start = (int)(ctl & 0xFF);
                int len = (int)((ctl >> 8) & 0xFF);
                r = start >= 64 ? 0 : src >> start;
                if (len < 64)
                {
                    r &= (1UL << len) - 1;
                }

                r &= Mask(size);
                break;
            }

            default:
            {
                ulong src = ReadOperand(ref d, d.K1, d.R1, size) & Mask(size);
                r = op switch
                {
                    H.Blsr => src & (src - 1),
                    H.Blsi => src & (0 - src),
                    _ => src ^ (src - 1),
                } & Mask(size);
                bool cf = op == H.Blsi ? src != 0 : src == 0;
                if (cf)
                {
                    f |= Spec.RFlags.CF;
                }

                break;
            }
        }

        WriteGpr(d.R0, size, r);
        f |= ResultFlags(r, size) & (Spec.RFlags.ZF | Spec.RFlags.SF);
        SetArithFlags(f);
    }
}
