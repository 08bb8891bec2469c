using System.Numerics;
using System.Runtime.CompilerServices;
using ManagedVmm.Cpu.X86.Spec;

namespace ManagedVmm.Cpu.X86;

/// <summary>
/// Lazy arithmetic flags (QEMU's CC_OP idea): an ALU instruction records its operation, size, operands and
/// result; CF/PF/AF/ZF/SF/OF are computed only when something reads them. Conditions right after CMP/SUB/TEST
/// (what gcc emits before nearly every Jcc/SETcc/CMOVcc) are answered from the operands directly.
/// </summary>
public sealed unsafe partial class X86Vcpu
{
    internal enum CcOp : byte
    {
        /// <summary>The arithmetic bits of <see cref="_rflags"/> are current.</summary>
        None,
        Add,
        Adc,
        Sub,
        Sbb,
        Logic,
        Inc,
        Dec,
        Shl,
        Shr,
        Sar,
    }

    private static readonly ulong[] s_masks = [0, 0xFF, 0xFFFF, 0, 0xFFFF_FFFF, 0, 0, 0, ulong.MaxValue];
    private static readonly ulong[] s_signs = [0, 0x80, 0x8000, 0, 0x8000_0000, 0, 0, 0, 0x8000_0000_0000_0000];

    private CcOp _ccOp;
    private int _ccSize = 8;
    private ulong _ccA;
    private ulong _ccB;
    private ulong _ccR;

    /// <summary>Carry-in for ADC/SBB, or the preserved CF for INC/DEC.</summary>
    private ulong _ccC;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Mask(int size) => s_masks[size];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetCc(CcOp op, int size, ulong a, ulong b, ulong r)
    {
        _ccOp = op;
        _ccSize = size;
        _ccA = a;
        _ccB = b;
        _ccR = r;
    }

    private void SetCcWithCarry(CcOp op, int size, ulong a, ulong b, ulong r, ulong carry)
    {
        _ccOp = op;
        _ccSize = size;
        _ccA = a;
        _ccB = b;
        _ccR = r;
        _ccC = carry;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool GetCF() => _ccOp switch
    {
        CcOp.None => (_rflags & Spec.RFlags.CF) != 0,
        CcOp.Sub => (_ccA & Mask(_ccSize)) < (_ccB & Mask(_ccSize)),
        CcOp.Logic => false,
        _ => (ComputeArith() & Spec.RFlags.CF) != 0,
    };

    /// <summary>Folds the lazy state into <see cref="_rflags"/>.</summary>
    internal void MaterializeFlags()
    {
        if (_ccOp != CcOp.None)
        {
            _rflags = (_rflags & ~Spec.RFlags.Arith) | ComputeArith();
            _ccOp = CcOp.None;
        }
    }

    internal ulong GetRFlags()
    {
        MaterializeFlags();
        return _rflags;
    }

    internal void SetRFlags(ulong value)
    {
        _ccOp = CcOp.None;
        _rflags = (value & Spec.RFlags.Writable) | Spec.RFlags.Reserved1;
    }

    private ulong ComputeArith()
    {
        int size = _ccSize;
        ulong mask = Mask(size);
        ulong sign = s_signs[size];
        ulong a = _ccA & mask;
        ulong b = _ccB & mask;
        ulong r = _ccR & mask;
        ulong f = 0;
        switch (_ccOp)
        {
            case CcOp.None:
                return _rflags & Spec.RFlags.Arith;
            case CcOp.Add:
                if (r < a) f |= Spec.RFlags.CF;
                if (((a ^ r) & (b ^ r) & sign) != 0) f |= Spec.RFlags.OF;
                f |= (a ^ b ^ r) & Spec.RFlags.AF;
                break;
            case CcOp.Adc:
                if (_ccC != 0 ? r <= a : r < a) f |= Spec.RFlags.CF;
                if (((a ^ r) & (b ^ r) & sign) != 0) f |= Spec.RFlags.OF;
                f |= (a ^ b ^ r) & Spec.RFlags.AF;
                break;
            case CcOp.Sub:
                if (a < b) f |= Spec.RFlags.CF;
                if (((a ^ b) & (a ^ r) & sign) != 0) f |= Spec.RFlags.OF;
                f |= (a ^ b ^ r) & Spec.RFlags.AF;
                break;
            case CcOp.Sbb:
                if (_ccC != 0 ? a <= b : a < b) f |= Spec.RFlags.CF;
                if (((a ^ b) & (a ^ r) & sign) != 0) f |= Spec.RFlags.OF;
                f |= (a ^ b ^ r) & Spec.RFlags.AF;
                break;
            case CcOp.Logic:
                break;
            case CcOp.Inc:
                f |= _ccC & Spec.RFlags.CF;
                if (r == sign) f |= Spec.RFlags.OF;
                f |= (a ^ 1 ^ r) & Spec.RFlags.AF;
                break;
            case CcOp.Dec:
                f |= _ccC & Spec.RFlags.CF;
                if (r == sign - 1) f |= Spec.RFlags.OF;
                f |= (a ^ 1 ^ r) & Spec.RFlags.AF;
                break;
            case CcOp.Shl:
            {
                int bits = size * 8;
                int n = (int)_ccB;
                bool cf = n <= bits && ((a >> (bits - n)) & 1) != 0;
                if (cf) f |= Spec.RFlags.CF;
                if (((r & sign) != 0) != cf) f |= Spec.RFlags.OF;
                break;
            }

            case CcOp.Shr:
            {
                int n = (int)_ccB;
                if (n <= 64 && ((a >> (n - 1)) & 1) != 0) f |= Spec.RFlags.CF;
                if ((a & sign) != 0 && n == 1) f |= Spec.RFlags.OF;
                break;
            }

            case CcOp.Sar:
            {
                int bits = size * 8;
                int n = Math.Min((int)_ccB, bits);
                long sa = (long)(a << (64 - bits)) >> (64 - bits);
                if (((sa >> (n - 1)) & 1) != 0) f |= Spec.RFlags.CF;
                break;
            }
        }

        if (r == 0) f |= Spec.RFlags.ZF;
        if ((r & sign) != 0) f |= Spec.RFlags.SF;
        if ((BitOperations.PopCount(r & 0xFF) & 1) == 0) f |= Spec.RFlags.PF;
        return f;
    }

    /// <summary>Evaluates an Iced <c>ConditionCode</c> (1 = o … 16 = g).</summary>
    internal bool Condition(int cc)
    {
        if (_ccOp == CcOp.Sub)
        {
            int size = _ccSize;
            ulong mask = Mask(size);
            ulong a = _ccA & mask;
            ulong b = _ccB & mask;
            int sh = 64 - (size * 8);
            switch (cc)
            {
                case 3: return a < b;
                case 4: return a >= b;
                case 5: return a == b;
                case 6: return a != b;
                case 7: return a <= b;
                case 8: return a > b;
                case 13: return (long)(a << sh) < (long)(b << sh);
                case 14: return (long)(a << sh) >= (long)(b << sh);
                case 15: return (long)(a << sh) <= (long)(b << sh);
                case 16: return (long)(a << sh) > (long)(b << sh);
            }
        }
        else if (_ccOp == CcOp.Logic)
        {
            ulong r = _ccR & Mask(_ccSize);
            bool sf = (r & s_signs[_ccSize]) != 0;
            switch (cc)
            {
                case 5: case 7: return r == 0;
                case 6: case 8: return r != 0;
                case 9: case 13: return sf;
                case 10: case 14: return !sf;
                case 15: return r == 0 || sf;
                case 16: return r != 0 && !sf;
            }
        }

        ulong f = _ccOp == CcOp.None ? _rflags : ComputeArith();
        bool cf = (f & Spec.RFlags.CF) != 0;
        bool zf = (f & Spec.RFlags.ZF) != 0;
        bool sfl = (f & Spec.RFlags.SF) != 0;
        bool of = (f & Spec.RFlags.OF) != 0;
        bool pf = (f & Spec.RFlags.PF) != 0;
        return cc switch
        {
            1 => of,
            2 => !of,
            3 => cf,
            4 => !cf,
            5 => zf,
            6 => !zf,
            7 => cf || zf,
            8 => !cf && !zf,
            9 => sfl,
            10 => !sfl,
            11 => pf,
            12 => !pf,
            13 => sfl != of,
            14 => sfl == of,
            15 => zf || sfl != of,
            16 => !zf && sfl == of,
            _ => false,
        };
    }

    /// <summary>Sets the arithmetic flags eagerly (for instructions whose flag rules fit no lazy form).</summary>
    private void SetArithFlags(ulong flags)
    {
        MaterializeFlags();
        _rflags = (_rflags & ~Spec.RFlags.Arith) | (flags & Spec.RFlags.Arith);
    }

    /// <summary>ZF/SF/PF of a result, for eager flag setters.</summary>
    private static ulong ResultFlags(ulong r, int size)
    {
        r &= Mask(size);
        ulong f = 0;
        if (r == 0) f |= Spec.RFlags.ZF;
        if ((r & s_signs[size]) != 0) f |= Spec.RFlags.SF;
        if ((BitOperations.PopCount(r & 0xFF) & 1) == 0) f |= Spec.RFlags.PF;
        return f;
    }
}
