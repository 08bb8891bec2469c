namespace ManagedVmm.Devices.Platform.Serial.Spec;

/// <summary>
/// Register offsets of the 16550 UART from its base port (NS16550A data sheet, "Register Summary"; Ralf Brown's
/// port list, ports 03F8-03FF). Offsets 0 and 1 change meaning while <see cref="Lcr.Dlab"/> is set.
/// </summary>
public static class Uart16550Register
{
    /// <summary>Receiver Buffer (read) / Transmitter Holding (write); Divisor Latch LSB while DLAB = 1.</summary>
    public const int RbrThrDll = 0;

    /// <summary>Interrupt Enable; Divisor Latch MSB while DLAB = 1.</summary>
    public const int IerDlm = 1;

    /// <summary>Interrupt Identification (read) / FIFO Control (write).</summary>
    public const int IirFcr = 2;

    public const int Lcr = 3;

    public const int Mcr = 4;

    public const int Lsr = 5;

    public const int Msr = 6;

    /// <summary>Scratch register: eight bits of storage with no effect.</summary>
    public const int Scr = 7;

    /// <summary>The UART decodes eight consecutive ports.</summary>
    public const int PortCount = 8;
}

/// <summary>Interrupt Enable Register bits.</summary>
public static class Ier
{
    /// <summary>ERBFI: received data available.</summary>
    public const byte ReceivedData = 0x01;

    /// <summary>ETBEI: transmitter holding register empty.</summary>
    public const byte TransmitterEmpty = 0x02;

    /// <summary>ELSI: receiver line status.</summary>
    public const byte LineStatus = 0x04;

    /// <summary>EDSSI: modem status.</summary>
    public const byte ModemStatus = 0x08;

    /// <summary>Only the low four bits exist on a 16550.</summary>
    public const byte Writable = 0x0F;
}

/// <summary>Interrupt Identification Register values.</summary>
public static class Iir
{
    /// <summary>Bit 0 set: no interrupt pending.</summary>
    public const byte NoInterruptPending = 0x01;

    public const byte ModemStatus = 0x00;

    public const byte TransmitterEmpty = 0x02;

    public const byte ReceivedData = 0x04;

    public const byte LineStatus = 0x06;

    /// <summary>Bits 7:6 read 11 while the FIFOs are enabled (FCR bit 0).</summary>
    public const byte FifosEnabled = 0xC0;
}

/// <summary>FIFO Control Register bits.</summary>
public static class Fcr
{
    public const byte Enable = 0x01;

    public const byte ClearReceive = 0x02;

    public const byte ClearTransmit = 0x04;
}

/// <summary>Line Control Register bits.</summary>
public static class Lcr
{
    /// <summary>Divisor Latch Access Bit: offsets 0 and 1 address the baud-rate divisor.</summary>
    public const byte Dlab = 0x80;
}

/// <summary>Modem Control Register bits.</summary>
public static class Mcr
{
    public const byte Dtr = 0x01;

    public const byte Rts = 0x02;

    public const byte Out1 = 0x04;

    public const byte Out2 = 0x08;

    /// <summary>Local loopback: transmitted bytes come back to the receiver, outputs feed the modem inputs.</summary>
    public const byte Loop = 0x10;

    public const byte Writable = 0x1F;
}

/// <summary>Line Status Register bits.</summary>
public static class Lsr
{
    /// <summary>DR: a received byte is waiting in RBR.</summary>
    public const byte DataReady = 0x01;

    /// <summary>THRE: the transmitter holding register can take a byte.</summary>
    public const byte TransmitterHoldingEmpty = 0x20;

    /// <summary>TEMT: holding and shift registers are both empty.</summary>
    public const byte TransmitterEmpty = 0x40;
}

/// <summary>Modem Status Register bits: deltas in 3:0, line states in 7:4.</summary>
public static class Msr
{
    public const byte DeltaCts = 0x01;

    public const byte DeltaDsr = 0x02;

    public const byte TrailingEdgeRi = 0x04;

    public const byte DeltaDcd = 0x08;

    public const byte Cts = 0x10;

    public const byte Dsr = 0x20;

    public const byte Ri = 0x40;

    public const byte Dcd = 0x80;

    public const byte DeltaMask = 0x0F;
}
