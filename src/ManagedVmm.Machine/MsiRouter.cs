using ManagedVmm.Core;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Core.Time;

namespace ManagedVmm.Machine;

/// <summary>
/// The machine's MSI fabric: every MSI a device sends arrives here and is forwarded to the connected
/// interrupt controllers (the local APIC) and observers (tests, traces). A message outside the x86 MSI window
/// goes nowhere and is a guest error (the driver programmed a bad address).
/// </summary>
public sealed class MsiRouter : IMsiSink
{
    private readonly List<IMsiSink> _targets = [];
    private readonly GuestErrorLog _guestErrors;

    private readonly EventScheduler? _clock;
    private readonly long _deliveryCostNs;

    public MsiRouter(GuestErrorLog guestErrors)
        : this(guestErrors, null, null)
    {
    }

    /// <summary>A router that charges <paramref name="deliveryCost"/> on <paramref name="clock"/> per delivered message.</summary>
    public MsiRouter(GuestErrorLog guestErrors, EventScheduler? clock, InterruptDeliveryCost? deliveryCost = null)
    {
        _guestErrors = guestErrors;
        _clock = clock;
        _deliveryCostNs = deliveryCost?.Ns ?? 0;
    }

    public long Delivered { get; private set; }

    /// <summary>Connects an interrupt controller or an observer.</summary>
    public void Connect(IMsiSink target) => _targets.Add(target);

    public void Signal(Bdf requester, MsiMessage message)
    {
        if (!message.IsInX86Window)
        {
            _guestErrors.Report("msi", $"{requester} sent {message} outside 0xFEE00000-0xFEEFFFFF: dropped");
            return;
        }

        Delivered++;
        if (_deliveryCostNs > 0)
        {
            // The cost model's interrupt delivery (host IRQ → injection into the guest): the clock moves before the
            // interrupt controller sees the message, so a waiting vCPU wakes that much later.
            _clock?.Tick(_deliveryCostNs);
        }

        foreach (var t in _targets)
        {
            t.Signal(requester, message);
        }
    }
}
