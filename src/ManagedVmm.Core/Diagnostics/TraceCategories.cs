namespace ManagedVmm.Core.Diagnostics;

/// <summary>
/// Trace events are <see cref="Microsoft.Extensions.Logging"/> messages at <c>Trace</c> level under these
/// categories, written with <c>[LoggerMessage]</c> so that a disabled category costs one branch.
/// <c>managedvmm run --trace PATTERN</c> enables categories by prefix.
/// </summary>
public static class TraceCategories
{
    public const string Root = "ManagedVmm.Trace";
    public const string Bus = Root + ".Bus";
    public const string Pci = Root + ".Pci";
    public const string Dma = Root + ".Dma";
    public const string Msi = Root + ".Msi";
}
