using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Devices.Platform.Serial.Spec;

namespace ManagedVmm.Devices.Platform.Serial;

/// <summary>
/// A 16550A UART as the platform's serial console (COM1 at 0x3F8, ARCHITECTURE §3).
/// <para>
/// Models: every register of the NS16550A — RBR/THR, the divisor latch behind LCR.DLAB, IER, IIR (with the
/// FIFO-enabled bits and the transmitter-empty interrupt source: set when the transmitter empties with ETBEI
/// enabled, cleared by reading IIR or writing THR), FCR, LCR, MCR (with local loopback: transmitted bytes come
/// back to RBR and the modem outputs drive the MSR inputs), LSR, MSR with delta bits cleared on read, and SCR.
/// Transmission is instantaneous: a byte written to THR goes to the console sink at once, so LSR always reads
/// THRE|TEMT and a polling driver never waits.
/// </para>
/// <para>
/// Leaves out: input (outside loopback the receiver never has data), line errors and break, baud-rate timing,
/// and the interrupt line (the machine has no legacy interrupt controller; IIR still reports what would be
/// pending). Accesses wider than a byte are handled as consecutive byte accesses, as the ISA bus does.
/// </para>
/// </summary>
public sealed class SerialPort16550 : IPortIoDevice, IResettable
{
    /// <summary>Modem inputs outside loopback: carrier, data set ready and clear to send asserted (a cable is present).</summary>
    private const byte IdleModemInputs = Msr.Dcd | Msr.Dsr | Msr.Cts;

    private readonly ISerialConsoleSink _sink;
    private byte _divisorLow;
    private byte _divisorHigh;
    private byte _ier;
    private byte _lcr;
    private byte _mcr;
    private byte _scr;
    private byte _msr;
    private bool _fifosEnabled;
    private bool _transmitterEmptyPending;
    private byte _rbr;
    private bool _dataReady;

    public SerialPort16550(ISerialConsoleSink sink)
    {
        _sink = sink;
        Reset();
    }

    /// <summary>Bytes sent to the console since power-on.</summary>
    public long TransmittedBytes { get; private set; }

    /// <summary>The baud-rate divisor the guest programmed (DLM:DLL); 115200 / divisor is the nominal rate.</summary>
    public ushort Divisor => (ushort)((_divisorHigh << 8) | _divisorLow);

    public void Read(ushort offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = ReadRegister(offset + i);
        }
    }

    public void Write(ushort offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            WriteRegister(offset + i, data[i]);
        }
    }

    /// <summary>The UART has no device-level reset; a system reset (MR pin) restores the power-on state.</summary>
    public void Reset(ResetKind kind)
    {
        if (kind == ResetKind.System)
        {
            Reset();
        }
    }

    /// <summary>Power-on state (NS16550A "Reset" table): everything zero, divisor undefined (we keep 1 = 115200 baud).</summary>
    public void Reset()
    {
        _divisorLow = 1;
        _divisorHigh = 0;
        _ier = 0;
        _lcr = 0;
        _mcr = 0;
        _scr = 0;
        _fifosEnabled = false;
        _transmitterEmptyPending = false;
        _dataReady = false;
        _rbr = 0;
        _msr = IdleModemInputs;
    }

    private bool Dlab => (_lcr & Lcr.Dlab) != 0;

    private bool Loopback => (_mcr & Mcr.Loop) != 0;

    private byte ReadRegister(int register)
    {
        switch (register)
        {
            case Uart16550Register.RbrThrDll:
                if (Dlab)
                {
                    return _divisorLow;
                }

                _dataReady = false;
                return _rbr;
            case Uart16550Register.IerDlm:
                return Dlab ? _divisorHigh : _ier;
            case Uart16550Register.IirFcr:
                return ReadIir();
            case Uart16550Register.Lcr:
                return _lcr;
            case Uart16550Register.Mcr:
                return _mcr;
            case Uart16550Register.Lsr:
                return (byte)(Lsr.TransmitterHoldingEmpty | Lsr.TransmitterEmpty | (_dataReady ? Lsr.DataReady : 0));
            case Uart16550Register.Msr:
                byte msr = _msr;
                _msr &= unchecked((byte)~Msr.DeltaMask);
                return msr;
            case Uart16550Register.Scr:
                return _scr;
            default:
                return 0xFF;
        }
    }

    private void WriteRegister(int register, byte value)
    {
        switch (register)
        {
            case Uart16550Register.RbrThrDll:
                if (Dlab)
                {
                    _divisorLow = value;
                }
                else
                {
                    Transmit(value);
                }

                break;
            case Uart16550Register.IerDlm:
                if (Dlab)
                {
                    _divisorHigh = value;
                }
                else
                {
                    bool wasEnabled = (_ier & Ier.TransmitterEmpty) != 0;
                    _ier = (byte)(value & Ier.Writable);

                    // Enabling ETBEI while THR is empty raises the interrupt at once (the transmitter is always empty here).
                    _transmitterEmptyPending = (_ier & Ier.TransmitterEmpty) != 0 && (!wasEnabled || _transmitterEmptyPending);
                }

                break;
            case Uart16550Register.IirFcr:
                _fifosEnabled = (value & Fcr.Enable) != 0;
                if ((value & Fcr.ClearReceive) != 0 || !_fifosEnabled)
                {
                    _dataReady = false;
                }

                break;
            case Uart16550Register.Lcr:
                _lcr = value;
                break;
            case Uart16550Register.Mcr:
                _mcr = (byte)(value & Mcr.Writable);
                UpdateModemInputs();
                break;
            case Uart16550Register.Lsr:
            case Uart16550Register.Msr:
                // Factory-test registers: writes have no defined effect on a 16550 in normal use.
                break;
            case Uart16550Register.Scr:
                _scr = value;
                break;
        }
    }

    private byte ReadIir()
    {
        byte fifoBits = _fifosEnabled ? Iir.FifosEnabled : (byte)0;
        if ((_ier & Ier.ReceivedData) != 0 && _dataReady)
        {
            return (byte)(fifoBits | Iir.ReceivedData);
        }

        if (_transmitterEmptyPending)
        {
            // Reading IIR while it names THRE as the source clears that source.
            _transmitterEmptyPending = false;
            return (byte)(fifoBits | Iir.TransmitterEmpty);
        }

        if ((_ier & Ier.ModemStatus) != 0 && (_msr & Msr.DeltaMask) != 0)
        {
            return (byte)(fifoBits | Iir.ModemStatus);
        }

        return (byte)(fifoBits | Iir.NoInterruptPending);
    }

    private void Transmit(byte value)
    {
        if (Loopback)
        {
            _rbr = value;
            _dataReady = true;
        }
        else
        {
            _sink.Write(value);
            TransmittedBytes++;
        }

        // The byte left THR at once, so THR is empty again: the THRE interrupt is pending if enabled.
        _transmitterEmptyPending = (_ier & Ier.TransmitterEmpty) != 0;
    }

    private void UpdateModemInputs()
    {
        byte inputs = Loopback
            ? (byte)(((_mcr & Mcr.Rts) != 0 ? Msr.Cts : 0)
                | ((_mcr & Mcr.Dtr) != 0 ? Msr.Dsr : 0)
                | ((_mcr & Mcr.Out1) != 0 ? Msr.Ri : 0)
                | ((_mcr & Mcr.Out2) != 0 ? Msr.Dcd : 0))
            : IdleModemInputs;
        byte old = (byte)(_msr & 0xF0);
        byte changed = (byte)(old ^ inputs);
        byte deltas = (byte)(_msr & Msr.DeltaMask);
        if ((changed & Msr.Cts) != 0)
        {
            deltas |= Msr.DeltaCts;
        }

        if ((changed & Msr.Dsr) != 0)
        {
            deltas |= Msr.DeltaDsr;
        }

        if ((changed & Msr.Dcd) != 0)
        {
            deltas |= Msr.DeltaDcd;
        }

        if ((old & Msr.Ri) != 0 && (inputs & Msr.Ri) == 0)
        {
            deltas |= Msr.TrailingEdgeRi;
        }

        _msr = (byte)(inputs | deltas);
    }
}
