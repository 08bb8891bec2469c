using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Core.Interrupts;

namespace ManagedVmm.Pci;

/// <summary>
/// What a function receives when it is placed on the bus: the DMA seam, where its MSIs go, and the guest-error
/// log. A device never sees the machine, the buses or another device.
/// </summary>
public sealed record PciPlatform(IDmaMemoryProvider DmaMemory, IMsiSink MsiSink, GuestErrorLog GuestErrors, IPciTopology Topology);
