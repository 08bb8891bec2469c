namespace ManagedVmm.Pci;

/// <summary>
/// The cost model's price of a guest access to a PCI function's memory BARs, by function name: functions the VMM
/// emulates cost a VM exit (<see cref="EmulatedNs"/>), functions modelled as passed through to the guest cost a
/// plain MMIO (<see cref="PassthroughNs"/>). Registered in DI (the machine's cost model does it); when present,
/// <see cref="PciBus"/> sets <see cref="PciFunction.AccessCostNs"/> of each function it places. Without it, or with
/// both figures 0, accesses cost nothing.
/// </summary>
public sealed class PciAccessCosts
{
    /// <summary>Virtual ns per access to a function the VMM emulates (an exit to the VMM and back).</summary>
    public long EmulatedNs { get; init; }

    /// <summary>Virtual ns per access to a passed-through function (a plain MMIO, no exit).</summary>
    public long PassthroughNs { get; init; }

    /// <summary>Names (<see cref="PciFunction.Name"/>) of the functions modelled as passed through.</summary>
    public IReadOnlySet<string> PassthroughFunctions { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The per-access cost of the function named <paramref name="functionName"/>.</summary>
    public long CostOf(string functionName) => PassthroughFunctions.Contains(functionName) ? PassthroughNs : EmulatedNs;
}
