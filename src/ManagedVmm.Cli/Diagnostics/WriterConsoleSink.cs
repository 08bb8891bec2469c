using System.Text;
using ManagedVmm.Devices.Platform.Serial;

namespace ManagedVmm.Cli.Diagnostics;

/// <summary>The serial console into a <see cref="TextWriter"/> (UTF-8 decoded, flushed at each line end), for tests.</summary>
internal sealed class WriterConsoleSink : ISerialConsoleSink
{
    private readonly TextWriter _writer;
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private readonly byte[] _buffer = new byte[4096];
    private readonly char[] _chars = new char[4096 + 8];
    private int _used;

    public WriterConsoleSink(TextWriter writer) => _writer = writer;

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
        int n = _decoder.GetChars(_buffer, 0, _used, _chars, 0, flush: false);
        _writer.Write(_chars, 0, n);
        _used = 0;
        _writer.Flush();
    }
}
