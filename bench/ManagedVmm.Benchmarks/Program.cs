using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/ManagedVmm.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(ManagedVmm.Benchmarks.BusBenchmarks).Assembly).Run(args);
