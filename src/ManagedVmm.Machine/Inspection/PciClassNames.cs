namespace ManagedVmm.Machine.Inspection;

/// <summary>Names of the PCI classes this machine shows (PCI Code and ID Assignment 1.11 §1).</summary>
internal static class PciClassNames
{
    public static string Describe(uint classCode) => (classCode >> 8) switch
    {
        0x0108 => "Non-Volatile memory controller",
        0x0600 => "Host bridge",
        0x0880 => "System peripheral",
        0x0B40 => "Co-processor",
        0x0200 => "Ethernet controller",
        0x0C03 => "USB controller",
        _ => $"Class {classCode >> 8:x4}",
    };
}
