namespace ManagedVmm.Core.Buses;

/// <summary>
/// A host configuration error: two devices asked for overlapping bus ranges when the machine was built.
/// (A guest that programs overlapping BARs is a guest error instead, see <c>PciBus</c>.)
/// </summary>
public sealed class BusRangeConflictException : Exception
{
    public BusRangeConflictException(string message)
        : base(message)
    {
    }

    public BusRangeConflictException()
    {
    }

    public BusRangeConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
