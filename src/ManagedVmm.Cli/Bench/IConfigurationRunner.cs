namespace ManagedVmm.Cli.Bench;

/// <summary>Runs one configuration (one VM, single-threaded, deterministic) and reports what it measured.</summary>
public interface IConfigurationRunner
{
    /// <summary>Never throws for a failed run: the failure is <see cref="BenchResult.Error"/>.</summary>
    BenchResult Run(BenchConfiguration configuration);
}
