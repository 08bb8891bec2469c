using System.Text;

namespace ManagedVmm.Devices.Platform.Serial;

/// <summary>Where the UART's transmitted bytes go: the process's stdout for the CLI, a buffer for tests.</summary>
public interface ISerialConsoleSink
{
    void Write(byte value);

    /// <summary>Pushes buffered bytes out (the run loop calls this when the guest stops).</summary>
    void Flush();
}

/// <summary>
/// Writes to a stream (stdout by default), buffered and flushed at every line end so that a console reader sees
/// whole lines as the guest prints them.
/// </summary>
public sealed class StreamConsoleSink : ISerialConsoleSink, IDisposable
{
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[4096];
    private int _used;

    public StreamConsoleSink(Stream stream) => _stream = stream;

    public static StreamConsoleSink StandardOutput() => new(Console.OpenStandardOutput());

    public void Write(byte value)
    {
        _buffer[_used++] = value;
        if (value == (byte)'\n' || _used == _buffer.Length)
        {
            Flush();
        }
    }

    public void Flush()
    {
        if (_used != 0)
        {
            _stream.Write(_buffer, 0, _used);
            _used = 0;
        }

        _stream.Flush();
    }

    public void Dispose() => Flush();
}

/// <summary>
/// Keeps the console output in memory for tests. Bounded, because a guest can print forever: bytes beyond
/// <see cref="Capacity"/> are counted in <see cref="Dropped"/> and not stored.
/// </summary>
public sealed class BufferConsoleSink : ISerialConsoleSink
{
    /// <summary>Default bound: far more than any test guest prints, small enough for a runaway guest not to exhaust the host.</summary>
    public const int DefaultCapacity = 16 << 20;

    private readonly MemoryStream _bytes = new();

    public BufferConsoleSink(int capacity = DefaultCapacity) => Capacity = capacity;

    public int Capacity { get; }

    public long Dropped { get; private set; }

    public void Write(byte value)
    {
        if (_bytes.Length >= Capacity)
        {
            Dropped++;
            return;
        }

        _bytes.WriteByte(value);
    }

    public void Flush()
    {
    }

    public byte[] ToArray() => _bytes.ToArray();

    /// <summary>The output decoded as UTF-8 (guests print ASCII).</summary>
    public string Text => Encoding.UTF8.GetString(_bytes.GetBuffer(), 0, (int)_bytes.Length);

    public void Clear()
    {
        _bytes.SetLength(0);
        Dropped = 0;
    }
}
