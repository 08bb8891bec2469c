using ManagedVmm.Devices.Platform.Serial;
using ManagedVmm.Machine.Boot;
using ManagedVmm.Machine.Running;

namespace ManagedVmm.Machine.Tests.Running;

/// <summary>
/// The run loop allocates nothing per instruction: a run four times longer allocates no more than a shorter one
/// (what a run allocates at all is per machine — decoded code pages, the TLB — not per instruction).
/// </summary>
public sealed class AllocationTests
{
    [Test]
    public void LongerRun_AllocatesNoMoreThanAShortOne()
    {
        static (long Bytes, long Instructions) Measure(int iterations)
        {
            var request = new BootRequest(BootImageSource.FromFile(GuestRunner.ImagePath("compute/compute.elf"))) { CommandLine = $"iterations={iterations}" };
            using var machine = new MachineBuilder(o => o.MemorySize = 64UL << 20).AddPlatform(o => o.Console = new BufferConsoleSink()).Build();
            var runner = new MachineRunner(machine);
            runner.Boot(request);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var result = runner.Run(GuestRunner.DefaultLimits);
            return (GC.GetAllocatedBytesForCurrentThread() - before, result.InstructionsRetired);
        }

        Measure(1000); // warm-up: JIT, static tables
        var shortRun = Measure(100_000);
        var longRun = Measure(400_000);

        TestContext.Out.WriteLine($"short: {shortRun.Bytes} B / {shortRun.Instructions} instructions; long: {longRun.Bytes} B / {longRun.Instructions}");
        Assert.That(longRun.Instructions - shortRun.Instructions, Is.GreaterThan(7_000_000));
        Assert.That(longRun.Bytes - shortRun.Bytes, Is.LessThan(4096), "bytes allocated for 7.5 million more instructions");
    }
}
