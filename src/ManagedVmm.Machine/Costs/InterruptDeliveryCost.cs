namespace ManagedVmm.Machine;

/// <summary>
/// The cost model's price of delivering one MSI to the guest (ARCHITECTURE §6): virtual ns the clock advances
/// before the interrupt controller sees the message. Registered in DI by <see cref="CostModelServiceCollectionExtensions.AddMachineCosts"/>.
/// </summary>
public sealed record InterruptDeliveryCost(long Ns);
