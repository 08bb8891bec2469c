namespace ManagedVmm.Devices.Nvme.Backends;

/// <summary>
/// A namespace in a disk image file. The file is created at the configured size when missing; an existing file
/// must have exactly that size (or gives the size when none is configured). Writes go straight to the OS
/// (no user-space buffer); <see cref="Flush"/> asks the OS to put them on the disk (fsync / FlushFileBuffers),
/// so a flushed write survives the emulator process.
/// </summary>
public sealed class FileBackend : INamespaceBackend
{
    private readonly FileStream _stream;
    private bool _disposed;

    private FileBackend(FileStream stream, string path, ulong length, bool readOnly)
    {
        _stream = stream;
        Path = path;
        Length = length;
        IsReadOnly = readOnly;
    }

    public string Path { get; }

    public ulong Length { get; }

    public bool IsReadOnly { get; }

    public string Description => $"file {Path} ({Length} bytes{(IsReadOnly ? ", read-only" : string.Empty)})";

    /// <summary>
    /// Opens or creates <paramref name="path"/>. <paramref name="size"/> 0 takes the existing file's size.
    /// Any problem is an <see cref="NvmeConfigurationException"/> that names the file and the cause.
    /// </summary>
    public static FileBackend Open(string path, ulong size, int lbaSize, bool readOnly)
    {
        string full;
        try
        {
            full = System.IO.Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new NvmeConfigurationException($"nvme: disk image path '{path}' is not valid: {e.Message}", e);
        }

        bool exists = System.IO.File.Exists(full);
        if (!exists && (readOnly || size == 0))
        {
            throw new NvmeConfigurationException(
                $"nvme: disk image '{full}' does not exist" + (readOnly ? " (read-only images are never created)" : " and no size was given to create it"));
        }

        FileStream stream;
        try
        {
            stream = new FileStream(
                full,
                readOnly ? FileMode.Open : FileMode.OpenOrCreate,
                readOnly ? FileAccess.Read : FileAccess.ReadWrite,
                readOnly ? FileShare.Read : FileShare.None,
                bufferSize: 0,
                FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            throw new NvmeConfigurationException($"nvme: cannot open disk image '{full}': {e.Message}", e);
        }

        try
        {
            ulong actual = (ulong)stream.Length;
            if (!exists)
            {
                stream.SetLength((long)size);
                actual = size;
            }
            else if (size != 0 && actual != size)
            {
                throw new NvmeConfigurationException($"nvme: disk image '{full}' is {actual} bytes but the namespace size is {size} bytes");
            }

            if (actual == 0 || actual % (ulong)lbaSize != 0)
            {
                throw new NvmeConfigurationException($"nvme: disk image '{full}' is {actual} bytes, not a non-zero multiple of the LBA size {lbaSize}");
            }

            return new FileBackend(stream, full, actual, readOnly);
        }
        catch (Exception e)
        {
            stream.Dispose();
            if (e is NvmeConfigurationException)
            {
                throw;
            }

            throw new NvmeConfigurationException($"nvme: cannot size disk image '{full}': {e.Message}", e);
        }
    }

    public void Read(ulong offset, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_stream.SafeFileHandle, destination[done..], (long)offset + done);
            if (n <= 0)
            {
                throw new IOException($"short read at {offset + (ulong)done} of {Path}");
            }

            done += n;
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source) => RandomAccess.Write(_stream.SafeFileHandle, source, (long)offset);

    public void WriteZeroes(ulong offset, ulong length)
    {
        Span<byte> zeros = stackalloc byte[4096];
        zeros.Clear();
        while (length > 0)
        {
            int n = (int)Math.Min(length, (ulong)zeros.Length);
            Write(offset, zeros[..n]);
            offset += (ulong)n;
            length -= (ulong)n;
        }
    }

    public void Flush()
    {
        if (!IsReadOnly)
        {
            _stream.Flush(flushToDisk: true);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stream.Dispose();
    }
}
