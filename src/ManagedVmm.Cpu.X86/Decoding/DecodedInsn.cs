using Iced.Intel;

namespace ManagedVmm.Cpu.X86.Decoding;

/// <summary>
/// One cached, decoded instruction: Iced's <see cref="Instruction"/> plus what the interpreter would otherwise
/// recompute every time (handler, operand sizes, operand kinds, register numbers, effective-address parts).
/// 64 bytes, stored in per-page arrays indexed by the page offset of its first byte.
/// </summary>
internal struct DecodedInsn
{
    public Instruction I;

    /// <summary>Immediate (sign-extended to 64 bits) or the absolute near-branch target.</summary>
    public ulong Imm;

    /// <summary>A <see cref="H"/> value; 0 means "not decoded yet".</summary>
    public ushort Handler;

    /// <summary>Operand size in bytes of operand 0 (the destination for most instructions).</summary>
    public byte Size;

    /// <summary>Operand size in bytes of operand 1.</summary>
    public byte Size1;

    /// <summary>Iced <see cref="ConditionCode"/> for Jcc, SETcc, CMOVcc.</summary>
    public byte Cond;

    /// <summary>Base register number, or <see cref="Operand.NoReg"/> (RIP-relative displacements are already absolute).</summary>
    public byte Base;

    public byte Index;

    /// <summary>log2 of the index scale.</summary>
    public byte Scale;

    /// <summary><see cref="InsnFlags"/>.</summary>
    public byte Flags;

    /// <summary>Register numbers of operands 0..2 (GPR 0..15, +<see cref="Operand.HighByte"/> for AH..BH; XMM 0..15).</summary>
    public byte R0;

    public byte R1;

    public byte R2;

    /// <summary>Operand kinds (<see cref="Operand"/>.Kxxx) of operands 0..2.</summary>
    public byte K0;

    public byte K1;

    public byte K2;
}

/// <summary>Operand kinds and register-number conventions in <see cref="DecodedInsn"/>.</summary>
internal static class Operand
{
    public const byte KNone = 0;
    public const byte KReg = 1;
    public const byte KMem = 2;
    public const byte KImm = 3;
    public const byte KXmm = 4;
    public const byte KOther = 5;

    public const byte NoReg = 0xFF;

    /// <summary>Added to the register number of AH/CH/DH/BH (bits 15:8 of RAX/RCX/RDX/RBX).</summary>
    public const byte HighByte = 0x10;
}

/// <summary>Per-instruction flags in <see cref="DecodedInsn.Flags"/>.</summary>
internal static class InsnFlags
{
    public const byte Addr32 = 1;
    public const byte Rep = 2;
    public const byte Repne = 4;
    public const byte SegFs = 8;
    public const byte SegGs = 16;
    public const byte Lock = 32;
}
