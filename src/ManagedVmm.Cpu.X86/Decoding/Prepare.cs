using Iced.Intel;

namespace ManagedVmm.Cpu.X86.Decoding;

/// <summary>A sealed <see cref="CodeReader"/> over a small fetch buffer the vCPU fills from guest memory.</summary>
internal sealed class FetchReader : CodeReader
{
    public readonly byte[] Buffer = new byte[32];
    private int _pos;
    private int _count;

    public void Reset(int count)
    {
        _pos = 0;
        _count = count;
    }

    public override int ReadByte() => _pos < _count ? Buffer[_pos++] : -1;
}

/// <summary>
/// The decoded instructions of one 4 KiB guest-physical page, indexed by page offset, plus which 64-byte lines
/// hold decoded bytes: a CPU store into the page invalidates it only if it touches such a line, so code and
/// data sharing a page (common in small freestanding images) do not thrash the cache.
/// </summary>
internal sealed class CodePage
{
    public const int LineShift = 6;

    public ulong PhysicalPage { get; set; }

    public DecodedInsn[] Entries { get; } = new DecodedInsn[4096];

    /// <summary>Bit n set: bytes [64n, 64n+64) hold (part of) a decoded instruction.</summary>
    public ulong LineMask { get; private set; }

    public void MarkDecoded(int offset, int length)
    {
        int last = Math.Min(4095, offset + Math.Max(1, length) - 1);
        for (int line = offset >> LineShift; line <= last >> LineShift; line++)
        {
            LineMask |= 1UL << line;
        }
    }

    public bool Overlaps(int offset, int length)
    {
        int last = Math.Min(4095, offset + Math.Max(1, length) - 1);
        for (int line = offset >> LineShift; line <= last >> LineShift; line++)
        {
            if ((LineMask & (1UL << line)) != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Forgets every decoded entry (clearing only the lines that hold any) so the page can be reused.</summary>
    public void Clear()
    {
        ulong mask = LineMask;
        while (mask != 0)
        {
            int line = System.Numerics.BitOperations.TrailingZeroCount(mask);
            Array.Clear(Entries, line << LineShift, 1 << LineShift);
            mask &= mask - 1;
        }

        LineMask = 0;
    }
}

/// <summary>Fills the interpreter's fields of a <see cref="DecodedInsn"/> from its Iced instruction.</summary>
internal static class Prepare
{
    public static void Fill(ref DecodedInsn d)
    {
        ref readonly var i = ref d.I;
        var h = HandlerTable.ByCode[(int)i.Code];
        d.Flags = 0;
        d.Base = Operand.NoReg;
        d.Index = Operand.NoReg;
        d.Scale = 0;
        d.Imm = 0;
        d.Cond = (byte)i.ConditionCode;
        int opCount = i.OpCount;
        d.K0 = opCount > 0 ? Kind(in i, 0, ref d, ref d.R0, ref h) : Operand.KNone;
        d.K1 = opCount > 1 ? Kind(in i, 1, ref d, ref d.R1, ref h) : Operand.KNone;
        d.K2 = opCount > 2 ? Kind(in i, 2, ref d, ref d.R2, ref h) : Operand.KNone;
        d.Size = (byte)OpSize(in i, 0, opCount);
        d.Size1 = opCount > 1 ? (byte)OpSize(in i, 1, opCount) : d.Size;
        if (d.K1 == Operand.KImm && d.K0 != Operand.KImm)
        {
            d.Size1 = d.Size;
        }

        if (i.HasRepPrefix || i.HasRepePrefix)
        {
            d.Flags |= InsnFlags.Rep;
        }

        if (i.HasRepnePrefix)
        {
            d.Flags |= InsnFlags.Repne;
        }

        if (i.HasLockPrefix)
        {
            d.Flags |= InsnFlags.Lock;
        }

        var seg = i.SegmentPrefix;
        if (seg == Register.FS)
        {
            d.Flags |= InsnFlags.SegFs;
        }
        else if (seg == Register.GS)
        {
            d.Flags |= InsnFlags.SegGs;
        }

        bool isString = false;
        for (int n = 0; n < opCount; n++)
        {
            switch (i.GetOpKind(n))
            {
                case OpKind.MemorySegESI or OpKind.MemoryESEDI:
                    d.Flags |= InsnFlags.Addr32;
                    isString = true;
                    break;
                case OpKind.MemorySegRSI or OpKind.MemoryESRDI:
                    isString = true;
                    break;
                case OpKind.MemorySegSI or OpKind.MemoryESDI:
                    h = H.Unimplemented;
                    break;
            }
        }

        if (h is H.Movs or H.Stos or H.Lods or H.Cmps or H.Scas && !isString)
        {
            h = H.Unimplemented; // MOVSD/CMPSD xmm (scalar double) share the string mnemonics.
        }

        switch (h)
        {
            case H.Push or H.Pop:
                d.Size = (byte)Math.Abs(i.StackPointerIncrement);
                break;
            case H.Call or H.Ret or H.Pushf or H.Popf or H.Leave or H.Enter or H.Retf:
                d.Size = (byte)(i.Code is Code.Pushfw or Code.Popfw or Code.Retnw or Code.Retnw_imm16 or Code.Leavew ? 2 : 8);
                break;
        }

        d.Handler = (ushort)h;
    }

    private static byte Kind(in Instruction i, int n, ref DecodedInsn d, ref byte reg, ref H h)
    {
        switch (i.GetOpKind(n))
        {
            case OpKind.Register:
            {
                var r = i.GetOpRegister(n);
                if (r.IsGPR())
                {
                    reg = GprNumber(r);
                    return Operand.KReg;
                }

                if (r.IsXMM())
                {
                    reg = (byte)(r - Register.XMM0);
                    return Operand.KXmm;
                }

                if (r.IsMM() || r.IsST() || r.IsYMM() || r.IsZMM() || r.IsK())
                {
                    h = H.Unimplemented;
                }

                reg = (byte)r;
                return Operand.KOther;
            }

            case OpKind.Memory:
            {
                var b = i.MemoryBase;
                var x = i.MemoryIndex;
                if (b == Register.EIP || b.IsGPR32() || x.IsGPR32())
                {
                    d.Flags |= InsnFlags.Addr32;
                }

                d.Base = b == Register.None || b == Register.RIP || b == Register.EIP ? Operand.NoReg : GprNumber(b);
                d.Index = x == Register.None ? Operand.NoReg : GprNumber(x);
                if (x != Register.None && !x.IsGPR())
                {
                    h = H.Unimplemented; // VSIB
                }

                d.Scale = (byte)System.Numerics.BitOperations.Log2((uint)Math.Max(1, i.MemoryIndexScale));
                return Operand.KMem;
            }

            case OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64:
                d.Imm = i.NearBranchTarget;
                return Operand.KImm;

            case OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate64
                or OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8to64 or OpKind.Immediate32to64:
                if (n == 0 || d.K0 != Operand.KImm)
                {
                    d.Imm = ImmediateSignExtended(in i, n);
                }
                else
                {
                    reg = (byte)i.GetImmediate(n); // ENTER's second immediate
                }

                return Operand.KImm;

            case OpKind.Immediate8_2nd:
                reg = i.Immediate8_2nd;
                return Operand.KImm;

            default:
                return Operand.KOther;
        }
    }

    private static ulong ImmediateSignExtended(in Instruction i, int n) => i.GetOpKind(n) switch
    {
        OpKind.Immediate8to16 => (ulong)(long)(short)i.Immediate8to16,
        OpKind.Immediate8to32 => (ulong)(long)i.Immediate8to32,
        OpKind.Immediate8to64 => (ulong)i.Immediate8to64,
        OpKind.Immediate32to64 => (ulong)i.Immediate32to64,
        _ => i.GetImmediate(n),
    };

    private static int OpSize(in Instruction i, int n, int opCount)
    {
        if (n >= opCount)
        {
            return 8;
        }

        switch (i.GetOpKind(n))
        {
            case OpKind.Register:
                return Math.Max(1, i.GetOpRegister(n).GetSize());
            case OpKind.Memory or OpKind.MemorySegRSI or OpKind.MemorySegESI or OpKind.MemoryESRDI or OpKind.MemoryESEDI:
                int s = i.MemorySize.GetSize();
                return s == 0 ? 8 : s;
            default:
                return 8;
        }
    }

    /// <summary>Encoding number of a GPR; AH..BH get <see cref="Operand.HighByte"/> added.</summary>
    public static byte GprNumber(Register r)
    {
        if (r >= Register.AH && r <= Register.BH)
        {
            return (byte)(Operand.HighByte + (r - Register.AH));
        }

        return (byte)r.GetFullRegister().GetNumber();
    }
}
