using Iced.Intel;
using ManagedVmm.Cpu.X86.Decoding;
using ManagedVmm.Cpu.X86.Spec;
using static ManagedVmm.Cpu.X86.Decoding.Operand;

namespace ManagedVmm.Cpu.X86;

/// <summary>PUSH/POP, CALL/RET/JMP, LOOP/JRCXZ, ENTER/LEAVE, PUSHF/POPF, far RET.</summary>
public sealed unsafe partial class X86Vcpu
{
    private const int Rsp = (int)Gpr.Rsp;
    private const int Rbp = (int)Gpr.Rbp;

    private void Push(int size, ulong value)
    {
        ulong rsp = R[Rsp] - (ulong)size;
        WriteMem(rsp, size, value);
        R[Rsp] = rsp;
    }

    private void ExecPush(ref DecodedInsn d)
    {
        ulong v = ReadOperand(ref d, d.K0, d.R0, d.Size);
        Push(d.Size, v);
    }

    private void ExecPop(ref DecodedInsn d)
    {
        int size = d.Size;
        ulong old = R[Rsp];
        ulong v = ReadMem(old, size);
        R[Rsp] = old + (ulong)size;
        if (d.K0 == KReg)
        {
            WriteGpr(d.R0, size, v);
            return;
        }

        if (d.K0 == KMem)
        {
            try
            {
                WriteMem(EffectiveAddress(ref d), size, v);
            }
            catch (GuestFaultException)
            {
                R[Rsp] = old;
                throw;
            }

            return;
        }

        LoadSegment((Register)d.R0, (ushort)v);
    }

    private ulong BranchTarget(ref DecodedInsn d) => d.K0 switch
    {
        KImm => d.Imm,
        KReg => R[d.R0],
        _ => ReadMem(EffectiveAddress(ref d), 8),
    };

    private void ExecCall(ref DecodedInsn d)
    {
        if (d.I.Code is Code.Call_m1664 or Code.Call_m1632 or Code.Call_m1616)
        {
            ExecUndefined(ref d, "far call");
        }

        ulong target = BranchTarget(ref d);
        Push(8, _rip);
        _rip = target;
    }

    private void ExecJmp(ref DecodedInsn d)
    {
        switch (d.I.Code)
        {
            case Code.Jmp_m1664:
            case Code.Jmp_m1632:
            {
                ulong ea = EffectiveAddress(ref d);
                int offSize = d.I.Code == Code.Jmp_m1664 ? 8 : 4;
                ulong target = ReadMem(ea, offSize);
                ushort cs = (ushort)ReadMem(ea + (ulong)offSize, 2);
                _cs = cs;
                _rip = target;
                return;
            }

            case Code.Jmp_m1616:
                ExecUndefined(ref d, "16-bit far jump");
                return;
        }

        _rip = BranchTarget(ref d);
    }

    private void ExecRet(ref DecodedInsn d)
    {
        ulong rsp = R[Rsp];
        ulong target = ReadMem(rsp, 8);
        R[Rsp] = rsp + 8 + (d.K0 == KImm ? d.Imm : 0);
        _rip = target;
    }

    private void ExecRetf(ref DecodedInsn d)
    {
        int size = d.I.Code is Code.Retfq or Code.Retfq_imm16 ? 8 : 4;
        ulong rsp = R[Rsp];
        ulong target = ReadMem(rsp, size);
        ushort cs = (ushort)ReadMem(rsp + (ulong)size, size);
        R[Rsp] = rsp + (ulong)(2 * size) + (d.K0 == KImm ? d.Imm : 0);
        _cs = cs;
        _rip = target;
    }

    private void ExecLoop(ref DecodedInsn d, H op)
    {
        bool ecx = d.I.Code is Code.Jecxz_rel8_64 or Code.Loop_rel8_64_ECX or Code.Loope_rel8_64_ECX or Code.Loopne_rel8_64_ECX;
        int size = ecx ? 4 : 8;
        if (op == H.Jrcxz)
        {
            if (ReadGpr(1, size) == 0)
            {
                _rip = d.Imm;
            }

            return;
        }

        ulong c = ReadGpr(1, size) - 1;
        WriteGpr(1, size, c);
        c &= Mask(size);
        bool take = op switch
        {
            H.Loope => c != 0 && Condition(5),
            H.Loopne => c != 0 && !Condition(5),
            _ => c != 0,
        };
        if (take)
        {
            _rip = d.Imm;
        }
    }

    private void ExecLeave(ref DecodedInsn d)
    {
        ulong rbp = R[Rbp];
        ulong v = ReadMem(rbp, d.Size);
        R[Rsp] = rbp + (ulong)d.Size;
        WriteGpr(Rbp, d.Size, v);
    }

    private void ExecEnter(ref DecodedInsn d)
    {
        ulong allocation = d.Imm & 0xFFFF;
        int level = d.R1 & 31;
        ulong rsp = R[Rsp];
        ulong rbp = R[Rbp];
        Push(8, rbp);
        ulong frame = R[Rsp];
        try
        {
            for (int i = 1; i < level; i++)
            {
                rbp -= 8;
                Push(8, ReadMem(rbp, 8));
            }

            if (level > 0)
            {
                Push(8, frame);
            }

            ProbeWrite(R[Rsp] - allocation, (int)Math.Max(1, Math.Min(allocation, 4096)));
        }
        catch (GuestFaultException)
        {
            R[Rsp] = rsp;
            throw;
        }

        R[Rbp] = frame;
        R[Rsp] -= allocation;
    }

    private void ExecPushf(ref DecodedInsn d)
    {
        Push(d.Size, GetRFlags() & ~(Spec.RFlags.VM | Spec.RFlags.RF));
    }

    private void ExecPopf(ref DecodedInsn d)
    {
        ulong rsp = R[Rsp];
        ulong v = ReadMem(rsp, d.Size);
        R[Rsp] = rsp + (ulong)d.Size;
        ulong old = GetRFlags();
        if (d.Size == 2)
        {
            v = (old & ~0xFFFFUL) | v;
        }

        SetRFlags((v & ~Spec.RFlags.RF) | (old & Spec.RFlags.VM));
        if ((old & Spec.RFlags.IF) == 0 && (v & Spec.RFlags.IF) != 0)
        {
            _slice = 0; // let pending interrupts in at the next boundary
        }
    }
}
