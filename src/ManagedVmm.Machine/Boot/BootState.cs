namespace ManagedVmm.Machine.Boot;

/// <summary>
/// The vCPU state at the first instruction (ARCHITECTURE §3): 64-bit long mode, paging on with the identity map at
/// <see cref="Cr3"/>, flat segments from the GDT at <see cref="GdtBase"/>, IF = 0, RIP = entry, RDI (and RSI, as a
/// courtesy to Linux-style entries) = the boot-info block. Every other general register is 0. The IDT is empty
/// (base 0, limit 0): a guest installs its own before it enables interrupts or may take an exception.
/// The run loop applies this record to the vCPU; segment bases are 0 and limits flat.
/// </summary>
public sealed record BootState
{
    public required ulong Rip { get; init; }

    /// <summary>16-byte aligned minus 8, with a zero return address at [RSP], as if the entry had been called.</summary>
    public required ulong Rsp { get; init; }

    public required ulong Rdi { get; init; }

    public required ulong Rsi { get; init; }

    public required ulong Rflags { get; init; }

    public required ulong Cr0 { get; init; }

    public required ulong Cr3 { get; init; }

    public required ulong Cr4 { get; init; }

    public required ulong Efer { get; init; }

    public required ulong GdtBase { get; init; }

    public required ushort GdtLimit { get; init; }

    public required ulong IdtBase { get; init; }

    public required ushort IdtLimit { get; init; }

    public required ushort Cs { get; init; }

    /// <summary>DS, ES, SS, FS and GS all hold this selector (base 0).</summary>
    public required ushort DataSelector { get; init; }

    public required ushort Tr { get; init; }

    public required ulong TrBase { get; init; }

    public required uint TrLimit { get; init; }

    public override string ToString() =>
        $"RIP=0x{Rip:x} RSP=0x{Rsp:x} RDI=0x{Rdi:x} RFLAGS=0x{Rflags:x} CR0=0x{Cr0:x} CR3=0x{Cr3:x} CR4=0x{Cr4:x} EFER=0x{Efer:x} " +
        $"GDTR=0x{GdtBase:x}/{GdtLimit} CS=0x{Cs:x} DS=0x{DataSelector:x} TR=0x{Tr:x}";
}
