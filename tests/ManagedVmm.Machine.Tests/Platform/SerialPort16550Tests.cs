using ManagedVmm.Devices.Platform.Serial;
using ManagedVmm.Testing;

namespace ManagedVmm.Machine.Tests.Platform;

public sealed class SerialPort16550Tests
{
    private const ushort Com1 = 0x3F8;
    private const ushort Thr = Com1, Dll = Com1, Ier = Com1 + 1, Dlm = Com1 + 1, Iir = Com1 + 2, Fcr = Com1 + 2;
    private const ushort Lcr = Com1 + 3, Mcr = Com1 + 4, Lsr = Com1 + 5, Msr = Com1 + 6, Scr = Com1 + 7;

    private BufferConsoleSink _console = null!;
    private MachineHarness _h = null!;

    [SetUp]
    public void SetUp()
    {
        _console = new BufferConsoleSink();
        _h = BootHarness.Create(console: _console);
    }

    [TearDown]
    public void TearDown() => _h.Dispose();

    [Test]
    public void ThrWrites_ReachTheConsoleInOrder()
    {
        foreach (char c in "hi\n")
        {
            _h.OutB(Thr, (byte)c);
        }

        Assert.That(_console.Text, Is.EqualTo("hi\n"));
    }

    [Test]
    public void Lsr_AlwaysReportsTransmitterEmptySoPollingNeverWaits()
    {
        Assert.That(_h.InB(Lsr), Is.EqualTo(0x60));
        _h.OutB(Thr, (byte)'x');
        Assert.That(_h.InB(Lsr), Is.EqualTo(0x60));
    }

    [Test]
    public void Receiver_HasNoDataOutsideLoopback()
    {
        Assert.That(_h.InB(Lsr) & 0x01, Is.Zero);
        Assert.That(_h.InB(Com1), Is.Zero);
    }

    [Test]
    public void Dlab_SwitchesOffsetsZeroAndOneToTheDivisorLatch()
    {
        _h.OutB(Ier, 0x05);
        _h.OutB(Lcr, 0x83);
        _h.OutB(Dll, 0x0C);
        _h.OutB(Dlm, 0x01);
        Assert.Multiple(() =>
        {
            Assert.That(_h.InB(Dll), Is.EqualTo(0x0C));
            Assert.That(_h.InB(Dlm), Is.EqualTo(0x01));
            Assert.That(_console.Text, Is.Empty, "a DLL write is not a transmission");
        });
        _h.OutB(Lcr, 0x03);
        var uart = _h.Machine.GetRequiredService<SerialPort16550>();
        Assert.Multiple(() =>
        {
            Assert.That(_h.InB(Ier), Is.EqualTo(0x05), "IER is back once DLAB is clear");
            Assert.That(_h.InB(Lcr), Is.EqualTo(0x03));
            Assert.That(uart.Divisor, Is.EqualTo(0x010C));
        });
    }

    [Test]
    public void Ier_KeepsOnlyItsFourBits() => Assert.That(WriteRead(Ier, 0xFF), Is.EqualTo(0x0F));

    [Test]
    public void Mcr_KeepsOnlyItsFiveBits() => Assert.That(WriteRead(Mcr, 0xFF), Is.EqualTo(0x1F));

    [Test]
    public void Scr_StoresAnyByte() => Assert.That(WriteRead(Scr, 0xA5), Is.EqualTo(0xA5));

    [Test]
    public void Iir_ReportsNoInterruptAndFifoBitsFollowFcr()
    {
        Assert.That(_h.InB(Iir), Is.EqualTo(0x01));
        _h.OutB(Fcr, 0x07);
        Assert.That(_h.InB(Iir), Is.EqualTo(0xC1));
        _h.OutB(Fcr, 0x00);
        Assert.That(_h.InB(Iir), Is.EqualTo(0x01));
    }

    [Test]
    public void Iir_TransmitterEmptyInterrupt_RaisedByEtbeiClearedByReadingIir()
    {
        _h.OutB(Ier, 0x02);
        Assert.That(_h.InB(Iir), Is.EqualTo(0x02), "enabling ETBEI with THR empty raises THRE");
        Assert.That(_h.InB(Iir), Is.EqualTo(0x01), "reading IIR cleared it");
        _h.OutB(Thr, (byte)'a');
        Assert.That(_h.InB(Iir), Is.EqualTo(0x02), "THR emptied again after the write");
    }

    [Test]
    public void Loopback_ReturnsTransmittedByteAndDrivesModemInputs()
    {
        _h.OutB(Mcr, 0x10 | 0x01 | 0x02);
        _h.OutB(Thr, 0x5A);
        Assert.Multiple(() =>
        {
            Assert.That(_console.Text, Is.Empty, "loopback does not reach the console");
            Assert.That(_h.InB(Lsr) & 0x01, Is.EqualTo(1), "DR set");
            Assert.That(_h.InB(Com1), Is.EqualTo(0x5A));
            Assert.That(_h.InB(Lsr) & 0x01, Is.Zero, "reading RBR cleared DR");
            Assert.That(_h.InB(Msr) & 0xF0, Is.EqualTo(0x30), "CTS from RTS, DSR from DTR; DCD and RI low");
        });
    }

    [Test]
    public void Msr_DeltaBitsAreClearedByReading()
    {
        _h.OutB(Mcr, 0x10);
        byte first = _h.InB(Msr);
        byte second = _h.InB(Msr);
        Assert.Multiple(() =>
        {
            Assert.That(first & 0x0F, Is.Not.Zero, "entering loopback dropped CTS/DSR/DCD");
            Assert.That(second & 0x0F, Is.Zero);
        });
    }

    [Test]
    public void Msr_OutsideLoopbackReportsCarrierDsrCts() => Assert.That(_h.InB(Msr), Is.EqualTo(0xB0));

    [Test]
    public void WordWrite_IsTwoByteWrites()
    {
        _h.OutW(Thr, 0x4241);
        Assert.That(_console.Text, Is.EqualTo("A"), "the high byte went to IER at 0x3F9, not to the console");
        Assert.That(_h.InB(Ier), Is.EqualTo(0x42 & 0x0F));
    }

    [Test]
    public void SystemReset_RestoresPowerOnRegisters()
    {
        _h.OutB(Lcr, 0x1B);
        _h.OutB(Scr, 0x77);
        _h.Machine.Reset();
        Assert.Multiple(() =>
        {
            Assert.That(_h.InB(Lcr), Is.Zero);
            Assert.That(_h.InB(Scr), Is.Zero);
        });
    }

    [Test]
    public void BufferSink_IsBounded()
    {
        var sink = new BufferConsoleSink(capacity: 4);
        foreach (byte b in "abcdef"u8)
        {
            sink.Write(b);
        }

        Assert.Multiple(() =>
        {
            Assert.That(sink.Text, Is.EqualTo("abcd"));
            Assert.That(sink.Dropped, Is.EqualTo(2));
        });
    }

    [Test]
    public void StreamSink_FlushesAtLineEnds()
    {
        using var stream = new MemoryStream();
        var sink = new StreamConsoleSink(stream);
        foreach (byte b in "ab\nc"u8)
        {
            sink.Write(b);
        }

        Assert.That(stream.ToArray(), Is.EqualTo("ab\n"u8.ToArray()));
        sink.Flush();
        Assert.That(stream.ToArray(), Is.EqualTo("ab\nc"u8.ToArray()));
    }

    private byte WriteRead(ushort port, byte value)
    {
        _h.OutB(port, value);
        return _h.InB(port);
    }
}
