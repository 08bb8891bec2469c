using ManagedVmm.Core;
using ManagedVmm.Devices.Platform.Serial;
using ManagedVmm.Machine.Boot;
using ManagedVmm.Machine.Running;

namespace ManagedVmm.Machine.Tests.Running;

/// <summary>Whole guests on the whole machine: the vCPU glued to the boot loader, the serial console and the debug exit.</summary>
public sealed class GuestRunTests
{
    [Test]
    public void Hello_PrintsItsBootInfoAndExitsThroughTheDebugPort()
    {
        var (result, console) = GuestRunner.Run("hello/hello.elf", "console=ttyS0 a=1");

        Assert.That(result.Reason, Is.EqualTo(VmStopReason.DebugExit), result.Message);
        Assert.That(result.ExitStatus, Is.EqualTo(1));
        Assert.That(console.Text, Does.StartWith("ManagedVmm hello guest\n"));
        Assert.That(console.Text, Does.Contain("boot-info at 0x2000: magic 0x4d564d42 version 1"));
        Assert.That(console.Text, Does.Contain("ACPI RSDP revision 2"));
        Assert.That(console.Text, Does.Contain("cmdline: \"console=ttyS0 a=1\""));
        Assert.That(console.Text, Does.EndWith("hello: done\n"));
        Assert.That(result.InstructionsRetired, Is.GreaterThan(1000));
        Assert.That(result.GuestErrors, Is.Zero);
    }

    [Test]
    public void Compute_PrintsTheHostChecksum_AndRetires25InstructionsPerIteration()
    {
        var (result, console) = GuestRunner.Run("compute/compute.elf", "iterations=1000000");

        Assert.That(result.ExitStatus, Is.EqualTo(1), result.Message);
        Assert.That(console.Text, Does.Contain("compute: iterations 1000000 checksum 0x6f1397d5942b5c6c"));
        Assert.That(result.InstructionsRetired, Is.InRange(25_000_000L, 25_100_000L));
    }

    [Test]
    public void VirtualTime_FollowsRetiredInstructions_AndRdtscAgrees()
    {
        var (result, console) = GuestRunner.Run("compute/compute.elf", "iterations=100000");

        // 1 ns per instruction by default: the run's virtual time is its instruction count in ns.
        Assert.That(result.VirtualTimeNs, Is.EqualTo(result.InstructionsRetired).Within(2));
        string ticksLine = console.Text.Split('\n').Single(l => l.EndsWith(" tsc ticks", StringComparison.Ordinal));
        long ticks = long.Parse(ticksLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(ticks, Is.InRange(2_500_000L, 2_501_000L), "25 instructions × 100000 iterations at 1 GHz");
    }

    [Test]
    public void InstructionTime_ScalesVirtualTime()
    {
        var console = new BufferConsoleSink();
        using var machine = new MachineBuilder(o => o.MemorySize = 64UL << 20)
            .AddPlatform(o => { o.Console = console; o.InstructionTimePs = 250; })
            .Build();
        var runner = new MachineRunner(machine);
        var result = runner.BootAndRun(
            new BootRequest(BootImageSource.FromFile(GuestRunner.ImagePath("compute/compute.elf"))) { CommandLine = "iterations=40000" },
            GuestRunner.DefaultLimits);

        Assert.That(result.ExitStatus, Is.EqualTo(1));
        Assert.That(result.VirtualTimeNs, Is.EqualTo(result.InstructionsRetired / 4).Within(2));
    }

    [TestCase(1, "void")]
    [TestCase(2, "garbage")]
    [TestCase(3, "explicit")]
    public void MisbehavingGuest_EndsInATripleFault_WithADiagnostic(int fault, string what)
    {
        var (result, console) = GuestRunner.Run("faults/faults.elf", $"fault={fault}");

        Assert.That(result.Reason, Is.EqualTo(VmStopReason.TripleFault), what);
        Assert.That(result.ExitStatus, Is.EqualTo(RunExitStatus.TripleFault));
        Assert.That(result.Message, Does.Contain("triple fault"));
        Assert.That(result.Message, Does.Contain("rip="));
        Assert.That(console.Text, Does.Contain($"faults: fault={fault}"));
    }

    [Test]
    public void GuestThatHaltsWithInterruptsOff_StopsAsHalted()
    {
        var (result, _) = GuestRunner.Run("faults/faults.elf", "fault=4");

        Assert.That(result.Reason, Is.EqualTo(VmStopReason.Halted));
        Assert.That(result.ExitStatus, Is.EqualTo(RunExitStatus.Halted));
        Assert.That(result.Message, Does.Contain("halted"));
    }

    [Test]
    public void SpinningGuest_StopsAtTheVirtualTimeLimit()
    {
        var (result, _) = GuestRunner.Run("faults/faults.elf", "fault=5", limits: new MachineRunLimits(MaxVirtualTimeNs: 2_000_000));

        Assert.That(result.Reason, Is.EqualTo(VmStopReason.TimeLimit));
        Assert.That(result.ExitStatus, Is.EqualTo(RunExitStatus.TimeLimit));
        Assert.That(result.VirtualTimeNs, Is.InRange(2_000_000L, 2_000_010L));
        Assert.That(result.Message, Does.Contain("2 ms"));
    }

    [Test]
    public void SpinningGuest_StopsAtTheInstructionLimit()
    {
        var (result, _) = GuestRunner.Run("faults/faults.elf", "fault=5", limits: new MachineRunLimits(MaxInstructions: 1_234_567));

        Assert.That(result.Reason, Is.EqualTo(VmStopReason.InstructionLimit));
        Assert.That(result.ExitStatus, Is.EqualTo(RunExitStatus.InstructionLimit));
        Assert.That(result.InstructionsRetired, Is.EqualTo(1_234_567));
    }

    [Test]
    public void ImageWithLargeBss_RunsWhenItFits()
    {
        var (result, console) = GuestRunner.Run("faults/faults.elf", "fault=6", memory: 32UL << 20);

        Assert.That(result.ExitStatus, Is.EqualTo(1), result.Message);
        Assert.That(console.Text, Does.Contain("big array"));
    }

    [Test]
    public void ImageThatDoesNotFitInRam_IsAConfigurationError_BeforeAnythingRuns()
    {
        using var machine = new MachineBuilder(o => o.MemorySize = 8UL << 20).AddPlatform(o => o.Console = new BufferConsoleSink()).Build();
        var runner = new MachineRunner(machine);
        var request = new BootRequest(BootImageSource.FromFile(GuestRunner.ImagePath("faults/faults.elf")));

        var e = Assert.Throws<MachineConfigurationException>(() => runner.Boot(request));
        Assert.That(e!.Message, Does.Contain("faults.elf"));
        Assert.That(runner.Cpu.InstructionsRetired, Is.Zero);
    }

    [Test]
    public void MachineWithoutAVcpu_CannotBeRun()
    {
        using var machine = new MachineBuilder().Build();
        Assert.Throws<MachineConfigurationException>(() => _ = new MachineRunner(machine));
    }

    [Test]
    public void CpuStateCapture_NamesRegistersAndCounters()
    {
        var console = new BufferConsoleSink();
        using var machine = new MachineBuilder(o => o.MemorySize = 64UL << 20).AddPlatform(o => o.Console = console).Build();
        var runner = new MachineRunner(machine);
        runner.BootAndRun(new BootRequest(BootImageSource.FromFile(GuestRunner.ImagePath("hello/hello.elf"))), GuestRunner.DefaultLimits);

        var state = runner.CaptureCpuState();
        Assert.That((string?)state["registers"]!["rsp"], Does.StartWith("0x"));
        Assert.That((string?)state["cr3"], Is.EqualTo("0x10000"));
        Assert.That((long)state["instructionsRetired"]!, Is.EqualTo(runner.Cpu.InstructionsRetired));
        Assert.That((string?)state["instructionAtRip"], Is.Not.Empty);
    }
}
