using ManagedVmm.Machine;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Testing;

/// <summary>
/// The real DI graph with no vCPU (QEMU's qtest, in process): build a machine with the devices a test adds,
/// then drive it through ECAM, MMIO, ports and guest memory exactly as a guest would. MSIs are recorded.
/// </summary>
public sealed class MachineHarness : QtestBase, IDisposable
{
    private MachineHarness(ManagedVmm.Machine.Machine machine)
        : base(machine.Memory, machine.Ports, machine.Scheduler)
    {
        Machine = machine;
        machine.Msi.Connect(Msi);
    }

    public ManagedVmm.Machine.Machine Machine { get; }

    public RecordingMsiSink Msi { get; } = new();

    /// <summary>Builds a machine with <paramref name="configure"/>'s devices on top of the core services.</summary>
    public static MachineHarness Create(Action<IServiceCollection>? configure = null, Action<MachineOptions>? options = null)
    {
        var builder = new MachineBuilder(options ?? (o => o.MemorySize = 64UL << 20));
        if (configure != null)
        {
            builder.ConfigureServices(configure);
        }

        return new MachineHarness(builder.Build());
    }

    public void Dispose() => Machine.Dispose();
}
