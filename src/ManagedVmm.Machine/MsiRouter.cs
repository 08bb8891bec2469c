using ManagedVmm.Core;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Interrupts;

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

    public MsiRouter(GuestErrorLog guestErrors) => _guestErrors = guestErrors;

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
        foreach (var t in _targets)
        {
            t.Signal(requester, message);
        }
    }
}
