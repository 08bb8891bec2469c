using ManagedVmm.Devices.Platform.Serial;

namespace ManagedVmm.Devices.Platform;

/// <summary>Options of the serial console (<c>services.AddSerialConsole(o =&gt; ...)</c>).</summary>
public sealed class SerialConsoleOptions
{
    /// <summary>COM1, where the platform contract puts the console.</summary>
    public const ushort Com1 = 0x3F8;

    /// <summary>Base I/O port of the UART (eight ports).</summary>
    public ushort Port { get; set; } = Com1;

    /// <summary>Where transmitted bytes go; null means the process's standard output.</summary>
    public ISerialConsoleSink? Sink { get; set; }
}

/// <summary>Constants of the debug-exit device.</summary>
public static class DebugExitPorts
{
    /// <summary>Base port (<c>iobase=0xf4</c>).</summary>
    public const ushort Base = 0xF4;

    /// <summary>Ports decoded (<c>iosize=4</c>).</summary>
    public const ushort Count = 4;
}
