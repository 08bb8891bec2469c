using ManagedVmm.Cpu.X86.Decoding;
using ManagedVmm.Cpu.X86.Spec;

namespace ManagedVmm.Cpu.X86;

/// <summary>
/// MOVS/STOS/LODS/CMPS/SCAS with REP/REPE/REPNE and DF. A REP instruction runs at most
/// <see cref="X86CpuOptions.RepIterationsPerStep"/> iterations per step and then restarts itself (RIP stays on
/// it), so a huge RCX neither hangs the host nor delays interrupts and events; registers are updated after
/// every iteration, so a fault in the middle leaves a restartable state, as on hardware.
/// </summary>
public sealed unsafe partial class X86Vcpu
{
    private const int Rsi = (int)Gpr.Rsi;
    private const int Rdi = (int)Gpr.Rdi;
    private const int Rcx = (int)Gpr.Rcx;

    private ulong SourceSegmentBase(ref DecodedInsn d) =>
        (d.Flags & InsnFlags.SegFs) != 0 ? _fsBase : (d.Flags & InsnFlags.SegGs) != 0 ? _gsBase : 0;

    /// <summary>Iterations to run now: 1 without REP; otherwise min(RCX, per-step bound); 0 when RCX = 0.</summary>
    private long RepCount(ref DecodedInsn d, out bool rep)
    {
        rep = (d.Flags & (InsnFlags.Rep | InsnFlags.Repne)) != 0;
        if (!rep)
        {
            return 1;
        }

        ulong rcx = (d.Flags & InsnFlags.Addr32) != 0 ? (uint)R[Rcx] : R[Rcx];
        return (long)Math.Min(rcx, (ulong)_options.RepIterationsPerStep);
    }

    private void AdvanceIndex(int reg, long delta, bool addr32)
    {
        ulong v = R[reg] + (ulong)delta;
        R[reg] = addr32 ? (uint)v : v;
    }

    private void DecrementCount(bool addr32) => AdvanceIndex(Rcx, -1, addr32);

    /// <summary>After the bounded batch: if RCX is still non-zero, re-execute this instruction next step.</summary>
    private void RepContinue(ref DecodedInsn d, bool stoppedByCondition)
    {
        ulong rcx = (d.Flags & InsnFlags.Addr32) != 0 ? (uint)R[Rcx] : R[Rcx];
        if (rcx != 0 && !stoppedByCondition)
        {
            _rip = _instrRip;
        }
    }

    private void ExecMovs(ref DecodedInsn d)
    {
        int size = d.Size;
        long step = (_rflags & Spec.RFlags.DF) != 0 ? -size : size;
        bool a32 = (d.Flags & InsnFlags.Addr32) != 0;
        ulong segBase = SourceSegmentBase(ref d);
        long n = RepCount(ref d, out bool rep);
        for (long i = 0; i < n; i++)
        {
            ulong v = ReadMem(segBase + R[Rsi], size);
            WriteMem(R[Rdi], size, v);
            AdvanceIndex(Rsi, step, a32);
            AdvanceIndex(Rdi, step, a32);
            if (rep)
            {
                DecrementCount(a32);
            }
        }

        if (rep)
        {
            RepContinue(ref d, false);
        }
    }

    private void ExecStos(ref DecodedInsn d)
    {
        int size = d.Size;
        long step = (_rflags & Spec.RFlags.DF) != 0 ? -size : size;
        bool a32 = (d.Flags & InsnFlags.Addr32) != 0;
        ulong v = ReadGpr(0, size);
        long n = RepCount(ref d, out bool rep);
        for (long i = 0; i < n; i++)
        {
            WriteMem(R[Rdi], size, v);
            AdvanceIndex(Rdi, step, a32);
            if (rep)
            {
                DecrementCount(a32);
            }
        }

        if (rep)
        {
            RepContinue(ref d, false);
        }
    }

    private void ExecLods(ref DecodedInsn d)
    {
        int size = d.Size;
        long step = (_rflags & Spec.RFlags.DF) != 0 ? -size : size;
        bool a32 = (d.Flags & InsnFlags.Addr32) != 0;
        ulong segBase = SourceSegmentBase(ref d);
        long n = RepCount(ref d, out bool rep);
        for (long i = 0; i < n; i++)
        {
            WriteGpr(0, size, ReadMem(segBase + R[Rsi], size));
            AdvanceIndex(Rsi, step, a32);
            if (rep)
            {
                DecrementCount(a32);
            }
        }

        if (rep)
        {
            RepContinue(ref d, false);
        }
    }

    private void ExecCmps(ref DecodedInsn d)
    {
        int size = d.Size;
        long step = (_rflags & Spec.RFlags.DF) != 0 ? -size : size;
        bool a32 = (d.Flags & InsnFlags.Addr32) != 0;
        ulong segBase = SourceSegmentBase(ref d);
        long n = RepCount(ref d, out bool rep);
        bool repne = (d.Flags & InsnFlags.Repne) != 0;
        bool stopped = false;
        for (long i = 0; i < n; i++)
        {
            ulong a = ReadMem(segBase + R[Rsi], size);
            ulong b = ReadMem(R[Rdi], size);
            SetCc(CcOp.Sub, size, a, b, a - b);
            AdvanceIndex(Rsi, step, a32);
            AdvanceIndex(Rdi, step, a32);
            if (rep)
            {
                DecrementCount(a32);
                if ((a == b) == repne)
                {
                    stopped = true;
                    break;
                }
            }
        }

        if (rep)
        {
            RepContinue(ref d, stopped);
        }
    }

    private void ExecScas(ref DecodedInsn d)
    {
        int size = d.Size;
        long step = (_rflags & Spec.RFlags.DF) != 0 ? -size : size;
        bool a32 = (d.Flags & InsnFlags.Addr32) != 0;
        ulong a = ReadGpr(0, size);
        long n = RepCount(ref d, out bool rep);
        bool repne = (d.Flags & InsnFlags.Repne) != 0;
        bool stopped = false;
        for (long i = 0; i < n; i++)
        {
            ulong b = ReadMem(R[Rdi], size);
            SetCc(CcOp.Sub, size, a, b, a - b);
            AdvanceIndex(Rdi, step, a32);
            if (rep)
            {
                DecrementCount(a32);
                if ((a == b) == repne)
                {
                    stopped = true;
                    break;
                }
            }
        }

        if (rep)
        {
            RepContinue(ref d, stopped);
        }
    }
}
