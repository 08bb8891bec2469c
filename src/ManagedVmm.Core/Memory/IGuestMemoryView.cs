namespace ManagedVmm.Core.Memory;

/// <summary>
/// A guest-memory view that says what it is, for state dumps and traces
/// ("ram", "iommu(00:03.0)", "bus-master off").
/// </summary>
public interface IGuestMemoryView : IGuestMemory
{
    string Description { get; }
}
