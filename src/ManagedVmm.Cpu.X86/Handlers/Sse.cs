using System.Runtime.Intrinsics;
using Iced.Intel;
using ManagedVmm.Cpu.X86.Decoding;
using ManagedVmm.Cpu.X86.Spec;
using static ManagedVmm.Cpu.X86.Decoding.Operand;

namespace ManagedVmm.Cpu.X86;

/// <summary>
/// The SSE/SSE2 subset gcc emits for freestanding integer code without <c>-mgeneral-regs-only</c>: 128-bit moves
/// (memset/memcpy/struct copies), MOVD/MOVQ, logic, byte/word/dword compares and PMOVMSKB (string scans),
/// unpacks and shuffles (broadcasts), integer add/sub, shifts. No floating-point arithmetic. SSE is accepted
/// whether or not the guest set CR4.OSFXSR (lenient: hardware would raise #UD); CR0.TS gives #NM, CR0.EM #UD.
/// </summary>
public sealed unsafe partial class X86Vcpu
{
    private Vector128<ulong> Xmm(int r) => Vector128.Create(X[2 * r], X[(2 * r) + 1]);

    private void SetXmmVector(int r, Vector128<ulong> v)
    {
        X[2 * r] = v.GetElement(0);
        X[(2 * r) + 1] = v.GetElement(1);
    }

    private Vector128<ulong> ReadXmmOperand(ref DecodedInsn d, byte kind, byte reg, bool aligned)
    {
        if (kind == KXmm)
        {
            return Xmm(reg);
        }

        ulong ea = EffectiveAddress(ref d);
        if (aligned && (ea & 0xF) != 0)
        {
            RaiseFault(Vector.GP, 0);
        }

        return Vector128.Create(ReadMem(ea, 8), ReadMem(ea + 8, 8));
    }

    private void WriteXmmMemory(ref DecodedInsn d, Vector128<ulong> v, bool aligned)
    {
        ulong ea = EffectiveAddress(ref d);
        if (aligned && (ea & 0xF) != 0)
        {
            RaiseFault(Vector.GP, 0);
        }

        ProbeWrite(ea, 16);
        WriteMem(ea, 8, v.GetElement(0));
        WriteMem(ea + 8, 8, v.GetElement(1));
    }

    private void ExecSse(ref DecodedInsn d, H op)
    {
        if ((_cr0 & Spec.Cr0.EM) != 0)
        {
            RaiseFault(Vector.UD);
        }

        if ((_cr0 & Spec.Cr0.TS) != 0)
        {
            RaiseFault(Vector.NM);
        }

        switch (op)
        {
            case H.Movdqa:
            {
                bool aligned = d.I.Mnemonic is Mnemonic.Movdqa or Mnemonic.Movaps or Mnemonic.Movapd
                    or Mnemonic.Movntdq or Mnemonic.Movntps or Mnemonic.Movntpd;
                if (d.K0 == KXmm)
                {
                    SetXmmVector(d.R0, ReadXmmOperand(ref d, d.K1, d.R1, aligned));
                }
                else
                {
                    WriteXmmMemory(ref d, Xmm(d.R1), aligned);
                }

                return;
            }

            case H.MovdToXmm:
            case H.MovdFromXmm:
                if (d.K0 == KXmm)
                {
                    ulong v = ReadOperand(ref d, d.K1, d.R1, d.Size1);
                    X[2 * d.R0] = v;
                    X[(2 * d.R0) + 1] = 0;
                }
                else
                {
                    WriteOp0(ref d, X[2 * d.R1] & Mask(d.Size));
                }

                return;
            case H.MovqXmm:
                X[2 * d.R0] = d.K1 == KXmm ? X[2 * d.R1] : ReadMem(EffectiveAddress(ref d), 8);
                X[(2 * d.R0) + 1] = 0;
                return;
            case H.MovqStore:
                if (d.K0 == KXmm)
                {
                    X[2 * d.R0] = X[2 * d.R1];
                    X[(2 * d.R0) + 1] = 0;
                }
                else
                {
                    WriteMem(EffectiveAddress(ref d), 8, X[2 * d.R1]);
                }

                return;
            case H.Movhps:
            case H.Movlps:
            {
                int half = op == H.Movhps ? 1 : 0;
                if (d.K0 == KXmm)
                {
                    X[(2 * d.R0) + half] = ReadMem(EffectiveAddress(ref d), 8);
                }
                else
                {
                    WriteMem(EffectiveAddress(ref d), 8, X[(2 * d.R1) + half]);
                }

                return;
            }

            case H.Movhlps:
                X[2 * d.R0] = X[(2 * d.R1) + 1];
                return;
            case H.Movlhps:
                X[(2 * d.R0) + 1] = X[2 * d.R1];
                return;
            case H.Pmovmskb:
                WriteGpr(d.R0, d.Size, Vector128.ExtractMostSignificantBits(Xmm(d.R1).AsByte()));
                return;
            case H.Pextrw:
                WriteGpr(d.R0, d.Size, Xmm(d.R1).AsUInt16().GetElement((int)(d.Imm & 7)));
                return;
            case H.Pinsrw:
            {
                ushort w = (ushort)ReadOperand(ref d, d.K1, d.R1, 2);
                SetXmmVector(d.R0, Xmm(d.R0).AsUInt16().WithElement((int)(d.Imm & 7), w).AsUInt64());
                return;
            }

            case H.Stmxcsr:
                WriteMem(EffectiveAddress(ref d), 4, _mxcsr);
                return;
            case H.Ldmxcsr:
            {
                uint v = (uint)ReadMem(EffectiveAddress(ref d), 4);
                if ((v & 0xFFFF_0000) != 0)
                {
                    RaiseFault(Vector.GP, 0);
                }

                _mxcsr = v;
                return;
            }

            case H.Pslldq:
            case H.Psrldq:
            {
                int n = (int)Math.Min(d.Imm & 0xFF, 16) * 8;
                var v = Xmm(d.R0);
                UInt128 x = new(v.GetElement(1), v.GetElement(0));
                x = n >= 128 ? 0 : op == H.Pslldq ? x << n : x >> n;
                SetXmmVector(d.R0, Vector128.Create((ulong)x, (ulong)(x >> 64)));
                return;
            }
        }

        // Two-operand forms: xmm0 = xmm0 op xmm/m128 (memory operands of SSE2 integer ops must be aligned).
        var a = Xmm(d.R0);
        Vector128<ulong> b = d.K1 == KImm ? Vector128.Create(d.Imm, 0UL) : ReadXmmOperand(ref d, d.K1, d.R1, aligned: d.I.Mnemonic is not (Mnemonic.Pshufd or Mnemonic.Pshuflw or Mnemonic.Pshufhw));
        Vector128<ulong> r = op switch
        {
            H.Pxor => a ^ b,
            H.Por => a | b,
            H.Pand => a & b,
            H.Pandn => ~a & b,
            H.Pcmpeqb => Vector128.Equals(a.AsByte(), b.AsByte()).AsUInt64(),
            H.Pcmpeqw => Vector128.Equals(a.AsUInt16(), b.AsUInt16()).AsUInt64(),
            H.Pcmpeqd => Vector128.Equals(a.AsUInt32(), b.AsUInt32()).AsUInt64(),
            H.Pcmpgtb => Vector128.GreaterThan(a.AsSByte(), b.AsSByte()).AsUInt64(),
            H.Pminub => Vector128.Min(a.AsByte(), b.AsByte()).AsUInt64(),
            H.Paddb => (a.AsByte() + b.AsByte()).AsUInt64(),
            H.Paddw => (a.AsUInt16() + b.AsUInt16()).AsUInt64(),
            H.Paddd => (a.AsUInt32() + b.AsUInt32()).AsUInt64(),
            H.Paddq => a + b,
            H.Psubb => (a.AsByte() - b.AsByte()).AsUInt64(),
            H.Psubw => (a.AsUInt16() - b.AsUInt16()).AsUInt64(),
            H.Psubd => (a.AsUInt32() - b.AsUInt32()).AsUInt64(),
            H.Psubq => a - b,
            H.Psllq => ShiftQwords(a, b.GetElement(0), left: true),
            H.Psrlq => ShiftQwords(a, b.GetElement(0), left: false),
            H.Punpcklbw => Interleave(a.AsByte(), b.AsByte(), high: false).AsUInt64(),
            H.Punpcklwd => Interleave(a.AsUInt16(), b.AsUInt16(), high: false).AsUInt64(),
            H.Punpckldq => Interleave(a.AsUInt32(), b.AsUInt32(), high: false).AsUInt64(),
            H.Punpcklqdq => Vector128.Create(a.GetElement(0), b.GetElement(0)),
            H.Punpckhqdq => Vector128.Create(a.GetElement(1), b.GetElement(1)),
            H.Pshufd => Shuffle32(b.AsUInt32(), b.AsUInt32(), (int)d.Imm).AsUInt64(),
            H.Shufps => Shuffle32(a.AsUInt32(), b.AsUInt32(), (int)d.Imm).AsUInt64(),
            H.Pshuflw => ShuffleWords(b.AsUInt16(), (int)d.Imm, high: false).AsUInt64(),
            H.Pshufhw => ShuffleWords(b.AsUInt16(), (int)d.Imm, high: true).AsUInt64(),
            _ => UndefinedSse(ref d),
        };
        SetXmmVector(d.R0, r);
    }

    private Vector128<ulong> UndefinedSse(ref DecodedInsn d)
    {
        ExecUndefined(ref d, "SSE form not implemented");
        return default;
    }

    private static Vector128<ulong> ShiftQwords(Vector128<ulong> a, ulong count, bool left) =>
        count > 63 ? Vector128<ulong>.Zero : left ? Vector128.ShiftLeft(a, (int)count) : Vector128.ShiftRightLogical(a, (int)count);

    private static Vector128<T> Interleave<T>(Vector128<T> a, Vector128<T> b, bool high)
    {
        var r = Vector128<T>.Zero;
        int n = Vector128<T>.Count / 2;
        int start = high ? n : 0;
        for (int i = 0; i < n; i++)
        {
            r = r.WithElement(2 * i, a.GetElement(start + i)).WithElement((2 * i) + 1, b.GetElement(start + i));
        }

        return r;
    }

    private static Vector128<uint> Shuffle32(Vector128<uint> low, Vector128<uint> high, int imm) => Vector128.Create(
        low.GetElement(imm & 3), low.GetElement((imm >> 2) & 3), high.GetElement((imm >> 4) & 3), high.GetElement((imm >> 6) & 3));

    private static Vector128<ushort> ShuffleWords(Vector128<ushort> v, int imm, bool high)
    {
        int o = high ? 4 : 0;
        var r = v;
        for (int i = 0; i < 4; i++)
        {
            r = r.WithElement(o + i, v.GetElement(o + ((imm >> (2 * i)) & 3)));
        }

        return r;
    }
}
