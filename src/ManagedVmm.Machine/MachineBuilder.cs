using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Machine;

/// <summary>
/// Composes a machine from an <see cref="IServiceCollection"/>: the core services, then whatever device
/// plugins the caller adds (<c>builder.Services.AddNvme(...)</c>), then <see cref="Build"/>.
/// </summary>
public sealed class MachineBuilder
{
    public MachineBuilder(Action<MachineOptions>? configure = null)
    {
        Services.AddMachineCore(configure);
    }

    public IServiceCollection Services { get; } = new ServiceCollection();

    public MachineBuilder ConfigureServices(Action<IServiceCollection> configure)
    {
        configure(Services);
        return this;
    }

    /// <summary>
    /// Builds the machine. Invalid options are a <see cref="MachineConfigurationException"/>; two devices
    /// claiming one range is a <see cref="Core.Buses.BusRangeConflictException"/>.
    /// </summary>
    public Machine Build()
    {
        var provider = Services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        try
        {
            var options = provider.GetRequiredService<IOptions<MachineOptions>>().Value;
            if (options.Validate() is string error)
            {
                throw new MachineConfigurationException(error);
            }

            return new Machine(provider);
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }
}
