namespace ManagedVmm.Devices.Nvme.Backends;

/// <summary>
/// A namespace in host memory, allocated in chunks on first write so a large, mostly empty namespace costs
/// little. Unwritten blocks read as zeros.
/// </summary>
public sealed class MemoryBackend : INamespaceBackend
{
    private const int ChunkShift = 16;
    private const int ChunkSize = 1 << ChunkShift;
    private readonly byte[]?[] _chunks;

    public MemoryBackend(ulong length, bool readOnly = false)
    {
        Length = length;
        IsReadOnly = readOnly;
        _chunks = new byte[]?[(length + ChunkSize - 1) >> ChunkShift];
    }

    public ulong Length { get; }

    public bool IsReadOnly { get; }

    public string Description => $"memory ({Length} bytes)";

    public void Read(ulong offset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int at = (int)(offset & (ChunkSize - 1));
            int n = Math.Min(destination.Length, ChunkSize - at);
            var chunk = _chunks[offset >> ChunkShift];
            if (chunk == null)
            {
                destination[..n].Clear();
            }
            else
            {
                chunk.AsSpan(at, n).CopyTo(destination);
            }

            destination = destination[n..];
            offset += (ulong)n;
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            int at = (int)(offset & (ChunkSize - 1));
            int n = Math.Min(source.Length, ChunkSize - at);
            var chunk = _chunks[offset >> ChunkShift] ??= new byte[ChunkSize];
            source[..n].CopyTo(chunk.AsSpan(at, n));
            source = source[n..];
            offset += (ulong)n;
        }
    }

    public void WriteZeroes(ulong offset, ulong length)
    {
        while (length > 0)
        {
            int at = (int)(offset & (ChunkSize - 1));
            int n = (int)Math.Min(length, (ulong)(ChunkSize - at));
            _chunks[offset >> ChunkShift]?.AsSpan(at, n).Clear();
            length -= (ulong)n;
            offset += (ulong)n;
        }
    }

    public void Flush()
    {
    }

    public void Dispose()
    {
    }
}
