namespace ManagedVmm.Pci;

/// <summary>
/// The host bridge at 00:00.0. It carries the identity of q35's MCH (8086:29c0, class 06:00:00) so that
/// guests and tools that know q35 recognise it; it has no BARs and no behaviour of its own.
/// </summary>
public sealed class PciHostBridge : PciFunction
{
    public PciHostBridge()
        : base("host-bridge", new PciIdentity(0x8086, 0x29C0, 0x06_00_00, 0x00, 0x1AF4, 0x1100))
    {
        PreferredDevice = 0;
    }
}
