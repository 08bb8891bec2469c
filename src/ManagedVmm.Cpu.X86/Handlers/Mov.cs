using System.Buffers.Binary;
using Iced.Intel;
using ManagedVmm.Cpu.X86.Decoding;
using ManagedVmm.Cpu.X86.Spec;
using static ManagedVmm.Cpu.X86.Decoding.Operand;

namespace ManagedVmm.Cpu.X86;

/// <summary>MOV, MOVSX/MOVSXD, XCHG, CMOVcc, BSWAP, CBW/CWDE/CDQE, CWD/CDQ/CQO, LAHF/SAHF.</summary>
public sealed unsafe partial class X86Vcpu
{
    private void ExecMov(ref DecodedInsn d)
    {
        if (d.K0 == KReg)
        {
            ulong v = d.K1 switch
            {
                KReg => ReadGpr(d.R1, d.Size),
                KImm => d.Imm,
                _ => ReadMem(EffectiveAddress(ref d), d.Size),
            };
            WriteGpr(d.R0, d.Size, v);
            return;
        }

        ulong value = d.K1 == KReg ? ReadGpr(d.R1, d.Size) : d.Imm;
        WriteMem(EffectiveAddress(ref d), d.Size, value);
    }

    private void ExecMovsx(ref DecodedInsn d)
    {
        ulong v = ReadOperand(ref d, d.K1, d.R1, d.Size1);
        WriteGpr(d.R0, d.Size, (ulong)SignExtend(v, d.Size1));
    }

    private void ExecXchg(ref DecodedInsn d)
    {
        int size = d.Size;
        if (d.K0 == KReg && d.K1 == KReg)
        {
            ulong a = ReadGpr(d.R0, size);
            ulong b = ReadGpr(d.R1, size);
            WriteGpr(d.R0, size, b);
            WriteGpr(d.R1, size, a);
            return;
        }

        // XCHG with memory (implicitly locked): memory operand is op0 or op1 depending on the encoding.
        int reg = d.K0 == KReg ? d.R0 : d.R1;
        ulong ea = EffectiveAddress(ref d);
        ulong m = ReadMem(ea, size);
        WriteMem(ea, size, ReadGpr(reg, size));
        WriteGpr(reg, size, m);
    }

    private void ExecCmov(ref DecodedInsn d)
    {
        ulong v = ReadOperand(ref d, d.K1, d.R1, d.Size);
        if (Condition(d.Cond))
        {
            WriteGpr(d.R0, d.Size, v);
        }
        else if (d.Size == 4)
        {
            R[d.R0] = (uint)R[d.R0]; // a 32-bit CMOVcc writes its destination even when false
        }
    }

    private void ExecBswap(ref DecodedInsn d)
    {
        ulong v = R[d.R0];
        switch (d.Size)
        {
            case 8: R[d.R0] = BinaryPrimitives.ReverseEndianness(v); break;
            case 4: R[d.R0] = BinaryPrimitives.ReverseEndianness((uint)v); break;
            default: WriteGpr(d.R0, 2, 0); break; // undefined for 16 bits; processors give 0
        }
    }

    private void ExecCbw(ref DecodedInsn d)
    {
        switch (d.I.Code)
        {
            case Code.Cbw: WriteGpr(0, 2, (ulong)(sbyte)R[0]); break;
            case Code.Cwde: WriteGpr(0, 4, (ulong)(short)R[0]); break;
            default: R[0] = (ulong)(int)R[0]; break;
        }
    }

    private void ExecCwd(ref DecodedInsn d)
    {
        switch (d.I.Code)
        {
            case Code.Cwd: WriteGpr(2, 2, (short)R[0] < 0 ? 0xFFFFUL : 0); break;
            case Code.Cdq: WriteGpr(2, 4, (int)R[0] < 0 ? 0xFFFF_FFFFUL : 0); break;
            default: R[2] = (long)R[0] < 0 ? ulong.MaxValue : 0; break;
        }
    }

    private void ExecLahf()
    {
        ulong f = GetRFlags();
        WriteGpr(HighByte | 0, 1, (f & (Spec.RFlags.SF | Spec.RFlags.ZF | Spec.RFlags.AF | Spec.RFlags.PF | Spec.RFlags.CF)) | Spec.RFlags.Reserved1);
    }

    private void ExecSahf()
    {
        const ulong bits = Spec.RFlags.SF | Spec.RFlags.ZF | Spec.RFlags.AF | Spec.RFlags.PF | Spec.RFlags.CF;
        ulong ah = (R[0] >> 8) & 0xFF;
        SetArithFlags((GetRFlags() & ~bits) | (ah & bits));
    }
}
