namespace ManagedVmm.Core.Interrupts;

/// <summary>
/// A message-signalled interrupt: the DWORD write a device makes to <see cref="Address"/>. On x86 the address
/// lies in <c>0xFEE0_0000–0xFEEF_FFFF</c> (destination APIC ID in bits 19..12) and the low byte of
/// <see cref="Data"/> is the vector.
/// </summary>
public readonly record struct MsiMessage(ulong Address, uint Data)
{
    public const ulong X86WindowBase = 0xFEE0_0000;
    public const ulong X86WindowSize = 0x10_0000;

    public byte Vector => (byte)Data;

    public byte DestinationApicId => (byte)(Address >> 12);

    public bool IsInX86Window => Address - X86WindowBase < X86WindowSize;

    public override string ToString() => $"MSI addr=0x{Address:x} data=0x{Data:x}";
}

/// <summary>
/// Where devices send MSIs. The machine's router forwards them to the local APIC; tests record them.
/// <paramref name="requester"/> identifies the sender (interrupt remapping would key on it).
/// </summary>
public interface IMsiSink
{
    void Signal(Bdf requester, MsiMessage message);
}

/// <summary>
/// An interrupt controller that receives the machine's MSIs (the local APIC). Registered in the service
/// collection as <see cref="IMsiTarget"/>; the machine connects every one to its MSI router when it is built.
/// </summary>
public interface IMsiTarget : IMsiSink
{
}
