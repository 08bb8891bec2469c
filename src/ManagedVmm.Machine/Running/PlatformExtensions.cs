using ManagedVmm.Cpu.X86;
using ManagedVmm.Devices.Platform;
using ManagedVmm.Devices.Platform.Serial;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Machine.Running;

/// <summary>What <see cref="PlatformExtensions.AddPlatform"/> adds and how the vCPU is clocked.</summary>
public sealed class PlatformOptions
{
    /// <summary>Virtual time per retired instruction in picoseconds (1000 = 1 ns, a nominal 1 GHz machine).</summary>
    public long InstructionTimePs { get; set; } = 1000;

    /// <summary><c>rdtsc</c> ticks per virtual second; also the boot-info <c>tsc_hz</c>.</summary>
    public ulong TscHz { get; set; } = 1_000_000_000;

    /// <summary>Where the serial console's bytes go; null means the process's standard output.</summary>
    public ISerialConsoleSink? Console { get; set; }

    /// <summary>Further vCPU settings (exit statuses, APIC timer clock) applied after the two above.</summary>
    public Action<X86CpuOptions>? Cpu { get; set; }
}

/// <summary>The devices every runnable machine has: the serial console, the debug exit and the x86-64 vCPU.</summary>
public static class PlatformExtensions
{
    public static IServiceCollection AddPlatform(this IServiceCollection services, Action<PlatformOptions>? configure = null)
    {
        var options = new PlatformOptions();
        configure?.Invoke(options);
        services.AddSerialConsole(o => o.Sink = options.Console);
        services.AddDebugExit();
        services.AddX86Vcpu(o =>
        {
            o.InstructionTimePs = options.InstructionTimePs;
            o.TscHz = options.TscHz;
            options.Cpu?.Invoke(o);
        });
        return services;
    }

    /// <summary>The same on a builder: <c>new MachineBuilder(...).AddPlatform(o =&gt; o.Console = sink).Build()</c>.</summary>
    public static MachineBuilder AddPlatform(this MachineBuilder builder, Action<PlatformOptions>? configure = null)
    {
        builder.Services.AddPlatform(configure);
        return builder;
    }
}
