using ManagedVmm.Core.Memory;

namespace ManagedVmm.Pci;

/// <summary>
/// A function's DMA view as the function sees it: with Command.BusMaster clear, the function cannot start a
/// transaction, so every access fails (and is reported as a guest error: the driver forgot to enable it).
/// </summary>
internal sealed class BusMasterGatedMemory : IGuestMemoryView
{
    private readonly PciFunction _function;
    private readonly IGuestMemoryView _inner;

    public BusMasterGatedMemory(PciFunction function, IGuestMemoryView inner)
    {
        _function = function;
        _inner = inner;
    }

    public string Description => _inner.Description;

    public bool TryRead(ulong address, Span<byte> destination) =>
        Allowed(address, "read") && _inner.TryRead(address, destination);

    public bool TryWrite(ulong address, ReadOnlySpan<byte> source) =>
        Allowed(address, "write") && _inner.TryWrite(address, source);

    private bool Allowed(ulong address, string kind)
    {
        if (_function.BusMasterEnabled)
        {
            return true;
        }

        _function.ReportGuestError($"DMA {kind} at 0x{address:x} with bus mastering disabled: blocked");
        return false;
    }
}
