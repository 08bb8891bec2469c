namespace ManagedVmm.Cli.Bench;

/// <summary>
/// Runs the configurations on up to <c>parallelism</c> threads (each VM single-threaded, so results do not depend
/// on the schedule), reports progress after each one, and returns the results in the configurations' order.
/// </summary>
public static class BenchExecutor
{
    public static IReadOnlyList<BenchResult> Run(
        IReadOnlyList<BenchConfiguration> configurations, IConfigurationRunner runner, int parallelism, Action<int, int, BenchResult>? progress = null)
    {
        var results = new BenchResult[configurations.Count];
        int done = 0;
        var gate = new object();
        Parallel.For(0, configurations.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism) }, i =>
        {
            results[i] = runner.Run(configurations[i]);
            lock (gate)
            {
                progress?.Invoke(++done, configurations.Count, results[i]);
            }
        });
        return results;
    }
}
