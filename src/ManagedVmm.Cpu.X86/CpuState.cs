using System.Runtime.CompilerServices;

namespace ManagedVmm.Cpu.X86;

/// <summary>The 16 general-purpose registers in encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15).</summary>
[InlineArray(16)]
public struct GprFile
{
    private ulong _element0;
}

/// <summary>The 16 XMM registers as 32 quadwords (low, high).</summary>
[InlineArray(32)]
public struct XmmFile
{
    private ulong _element0;
}

/// <summary>General-purpose register numbers as the encoding numbers them.</summary>
public enum Gpr
{
    Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15,
}

/// <summary>A descriptor-table register (GDTR, IDTR).</summary>
public record struct TableRegister(ulong Base, ushort Limit);

/// <summary>
/// The architectural state the boot code sets before the first <see cref="X86Vcpu.Run"/> and that a state dump
/// reads after. Segment registers hold selectors only: in 64-bit mode only the FS/GS bases (MSRs) matter.
/// </summary>
public sealed class X86InitialState
{
    public ulong Rip { get; set; }

    public ulong Rsp { get; set; }

    public ulong Rdi { get; set; }

    public ulong Rsi { get; set; }

    public ulong RFlags { get; set; } = 0x2;

    public ulong Cr0 { get; set; } = Spec.Cr0.PE | Spec.Cr0.ET | Spec.Cr0.PG;

    public ulong Cr3 { get; set; }

    public ulong Cr4 { get; set; } = Spec.Cr4.PAE;

    public ulong Efer { get; set; } = Spec.Efer.LME | Spec.Efer.LMA;

    public TableRegister Gdtr { get; set; }

    public TableRegister Idtr { get; set; }

    public ushort Cs { get; set; } = 0x08;

    public ushort Ds { get; set; } = 0x10;

    public ushort Ss { get; set; } = 0x10;

    public ushort Tr { get; set; }
}
