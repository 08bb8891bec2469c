using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Time;

namespace ManagedVmm.Pci;

/// <summary>
/// The cost-model decorator of a BAR window: every access first advances the virtual clock by the function's
/// access cost, which stalls the accessing vCPU the way a VM exit (or an uncached MMIO) does, then reaches the
/// device unchanged. <see cref="PciBus"/> maps it in place of the handler only when the cost is above zero, so a
/// machine without costs decodes exactly as before. Events that fall due during the stall fire when the run loop
/// next looks at the clock, as they would after a real exit.
/// </summary>
internal sealed class ChargedMmioDevice : IMmioDevice
{
    private readonly IMmioDevice _inner;
    private readonly EventScheduler _clock;
    private readonly long _costNs;

    public ChargedMmioDevice(IMmioDevice inner, EventScheduler clock, long costNs)
    {
        _inner = inner;
        _clock = clock;
        _costNs = costNs;
    }

    public void Read(ulong offset, Span<byte> data)
    {
        _clock.Tick(_costNs);
        _inner.Read(offset, data);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        _clock.Tick(_costNs);
        _inner.Write(offset, data);
    }
}
