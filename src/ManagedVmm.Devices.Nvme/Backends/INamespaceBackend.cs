namespace ManagedVmm.Devices.Nvme.Backends;

/// <summary>
/// Where a namespace's blocks live. Offsets and lengths are in bytes and already range-checked by the
/// controller. Host I/O failures surface as <see cref="IOException"/>, which the controller turns into a media
/// status (Write Fault, Unrecovered Read Error).
/// </summary>
public interface INamespaceBackend : IDisposable
{
    ulong Length { get; }

    bool IsReadOnly { get; }

    string Description { get; }

    void Read(ulong offset, Span<byte> destination);

    void Write(ulong offset, ReadOnlySpan<byte> source);

    void WriteZeroes(ulong offset, ulong length);

    /// <summary>Makes every completed write durable (the NVMe Flush command).</summary>
    void Flush();
}
