namespace ManagedVmm.Pci;

/// <summary>The read-only identity registers of a type-0 function.</summary>
public readonly record struct PciIdentity(
    ushort VendorId,
    ushort DeviceId,
    uint ClassCode,
    byte Revision,
    ushort SubsystemVendorId = 0,
    ushort SubsystemId = 0,
    byte InterruptPin = 0)
{
    public byte BaseClass => (byte)(ClassCode >> 16);

    public byte SubClass => (byte)(ClassCode >> 8);

    public byte ProgrammingInterface => (byte)ClassCode;
}
