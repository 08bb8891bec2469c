using System.Text.Json.Nodes;
using ManagedVmm.Machine.Running;

namespace ManagedVmm.Cli.Tests;

/// <summary><c>managedvmm run</c>: the default image, exit statuses, limits, --stats, --dump-state, and bad input.</summary>
public sealed class RunCommandTests
{
    private static string Image(string relative) => Path.Combine(CliRunner.RepositoryRoot(), "guest-images", relative);

    [Test]
    public void Run_WithNoImage_BootsTheBuiltInFirmwareThenNvmeFio_ThroughTheIommu()
    {
        var (exit, output, error) = CliRunner.Run("run", "--append", "fio.ios=64 fio.verify=1 fio.rw=randrw");

        Assert.That(exit, Is.EqualTo(1), error);
        Assert.That(output, Does.StartWith("ManagedVmm firmware"));
        Assert.That(output, Does.Contain("00:01.0 1af4:1057").And.Contain("00:02.0 1b36:0010"), "the firmware's PCI inventory");
        Assert.That(output, Does.Contain("cmdline: \"fio.ios=64 fio.verify=1 fio.rw=randrw\""));
        Assert.That(output, Does.Contain("type DMA-FQ (lazy)"));
        Assert.That(output, Does.Contain("0 mismatches"));
        Assert.That(output, Does.EndWith("nvme-fio: PASS\n"));
        Assert.That(error, Is.Empty);
    }

    [Test]
    public void Run_NoFirmware_StartsThePayloadDirectly()
    {
        var (exit, output, error) = CliRunner.Run("run", Image("hello/hello.elf"), "--no-firmware", "--append", "x=1");

        Assert.That(exit, Is.EqualTo(1), error);
        Assert.That(output, Does.StartWith("ManagedVmm hello guest\n"));
        Assert.That(output, Does.Contain("cmdline: \"x=1\""));
        Assert.That(output, Does.EndWith("hello: done\n"));
    }

    [Test]
    public void Run_ExitStatusIsTheDebugExitStatus()
    {
        var (exit, output, _) = CliRunner.Run("run", Image("faults/faults.elf"), "--append", "fault=0");

        Assert.That(output, Does.Contain("faults: choose"));
        Assert.That(exit, Is.EqualTo(RunExitStatus.ForDebugExit(1)));
        Assert.That(exit, Is.EqualTo(3));
    }

    [TestCase("fault=1", RunExitStatus.TripleFault, "triple fault")]
    [TestCase("fault=2", RunExitStatus.TripleFault, "triple fault")]
    [TestCase("fault=3", RunExitStatus.TripleFault, "triple fault")]
    [TestCase("fault=4", RunExitStatus.Halted, "halted")]
    public void Run_MisbehavingGuest_HasADefinedStatusAndMessage(string append, int status, string message)
    {
        var (exit, _, error) = CliRunner.Run("run", Image("faults/faults.elf"), "--append", append);

        Assert.That(exit, Is.EqualTo(status));
        Assert.That(error, Does.Contain($"managedvmm: guest stopped: {message}"));
        Assert.That(error, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void Run_MaxTime_StopsASpinningGuest()
    {
        var (exit, _, error) = CliRunner.Run("run", Image("faults/faults.elf"), "--append", "fault=5", "--max-time", "3ms");

        Assert.That(exit, Is.EqualTo(RunExitStatus.TimeLimit));
        Assert.That(error, Does.Contain("virtual-time limit of 3 ms reached"));
    }

    [Test]
    public void Run_MaxInstructions_StopsASpinningGuest()
    {
        var (exit, _, error) = CliRunner.Run("run", Image("faults/faults.elf"), "--append", "fault=5", "--max-instructions", "2M");

        Assert.That(exit, Is.EqualTo(RunExitStatus.InstructionLimit));
        Assert.That(error, Does.Contain("instruction limit of 2000000 reached"));
    }

    [Test]
    public void Run_Stats_PrintsTheSummaryToStderr()
    {
        var (exit, output, error) = CliRunner.Run("run", Image("compute/compute.elf"), "--append", "iterations=10000", "--stats", "--device", "nvme,size=1M");

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(output, Does.Contain("checksum"));
        Assert.That(output, Does.Not.Contain("statistics"));
        foreach (string field in new[] { "virtual time:", "retired instructions:", "guest MIPS (wall):", "wall time:", "guest errors:", "vcpu:", "device:               nvme 00:01.0" })
        {
            Assert.That(error, Does.Contain(field));
        }

        string retired = error.Split('\n').Single(l => l.StartsWith("retired instructions:", StringComparison.Ordinal));
        Assert.That(long.Parse(retired.Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(250_000));
    }

    [Test]
    public void Run_NsPerInstruction_ScalesVirtualTime()
    {
        var (exit, _, error) = CliRunner.Run("run", Image("faults/faults.elf"), "--append", "fault=5", "--max-instructions", "1M", "--ns-per-instruction", "2", "--stats");

        Assert.That(exit, Is.EqualTo(RunExitStatus.InstructionLimit));
        Assert.That(error, Does.Contain("virtual time:         2.000 ms (2000000 ns)"));
    }

    [Test]
    public void Run_DumpState_WritesJsonWithTheMachineAndTheVcpu()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mvmm-dump-{Guid.NewGuid():N}.json");
        try
        {
            var (exit, _, _) = CliRunner.Run("run", "--device", "nvme,size=1M", "--dump-state", path);

            Assert.That(exit, Is.EqualTo(1));
            var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            Assert.That((string?)root["run"]!["reason"], Is.EqualTo("DebugExit"));
            Assert.That((int)root["run"]!["exitStatus"]!, Is.EqualTo(1));
            Assert.That((string?)root["cpu"]!["cr3"], Is.EqualTo("0x10000"));
            Assert.That((string?)root["cpu"]!["registers"]!["rax"], Does.StartWith("0x"));
            var bdfs = root["machine"]!["pci"]!.AsArray().Select(f => (string?)f!["bdf"]).ToList();
            Assert.That(bdfs, Is.EquivalentTo(new[] { "00:00.0", "00:01.0" }));
            Assert.That((long)root["machine"]!["virtualTimeNs"]!, Is.GreaterThan(0));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Run_GuestErrors_GoToStderr_OneLineEach()
    {
        var (exit, _, error) = CliRunner.Run("run", Image("faults/faults.elf"), "--append", "fault=2");

        Assert.That(exit, Is.EqualTo(RunExitStatus.TripleFault));
        Assert.That(error, Does.Contain("[ManagedVmm.GuestError] guest error: cpu: #UD at rip="));
        Assert.That(error, Does.Contain("[ManagedVmm.GuestError] guest error: cpu: triple fault: #13 while delivering #DF (first exception: vector 6) [...]"));
    }

    [TestCase(new[] { "run", "no-such-image.elf" }, "cannot read the image")]
    [TestCase(new[] { "run", "--max-time", "soon" }, "invalid --max-time 'soon'")]
    [TestCase(new[] { "run", "--max-time", "0s" }, "invalid --max-time")]
    [TestCase(new[] { "run", "--max-instructions", "-5" }, "invalid --max-instructions")]
    [TestCase(new[] { "run", "--ns-per-instruction", "0" }, "invalid --ns-per-instruction")]
    [TestCase(new[] { "run", "--tsc-hz", "fast" }, "invalid --tsc-hz")]
    [TestCase(new[] { "run", "-m", "1K" }, "memory size 1024 must be")]
    [TestCase(new[] { "run", "--device", "floppy" }, "unknown device 'floppy' (known: nvme")]
    [TestCase(new[] { "run", "--device", "nvme,colour=red" }, "nvme: unknown property 'colour'")]
    [TestCase(new[] { "run", "--device", "nvme,size=lots" }, "nvme: 'lots' is not a valid number")]
    [TestCase(new[] { "run", "--device", ",size=1M" }, "has no driver name")]
    [TestCase(new[] { "run", "--device", "nvme,lba-size=3" }, "LBA size 3")]
    [TestCase(new[] { "run", "--trace", "Nv me" }, "invalid trace pattern")]
    [TestCase(new[] { "run", "--firmware", "fw.elf", "--no-firmware" }, "exclude each other")]
    [TestCase(new[] { "run", "--firmware", "no-such-firmware.elf" }, "no-such-firmware.elf: cannot read the image")]
    [TestCase(new[] { "run", "--frobnicate" }, "unknown option '--frobnicate'")]
    [TestCase(new[] { "run", "a.elf", "b.elf" }, "b.elf")]
    [TestCase(new[] { "inspect", "--device", "floppy" }, "unknown device 'floppy'")]
    [TestCase(new[] { "run", "--device", "nvme", "--device", "nvme,size=1M" }, "only one nvme device is supported")]
    [TestCase(new[] { "run", "--device", "nvme,file=/no/such/dir/disk.img" }, "disk.img")]
    public void BadInput_IsOneClearLine_AndStatus2(string[] args, string message)
    {
        var (exit, output, error) = CliRunner.Run(args);

        Assert.That(exit, Is.EqualTo(CliApplication.UsageError), error);
        Assert.That(error, Does.StartWith("managedvmm: ").And.Contain(message));
        Assert.That(error.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), "one line");
        Assert.That(output, Is.Empty);
    }

    [Test]
    public void BadElf_IsOneClearLine_AndStatus2()
    {
        var (exit, _, error) = CliRunner.Run("run", Image("hello/hello.c"));

        Assert.That(exit, Is.EqualTo(CliApplication.UsageError));
        Assert.That(error, Does.Contain("not an ELF file"));
    }

    [Test]
    public void ImageThatDoesNotFitInRam_IsOneClearLine_AndStatus2()
    {
        var (exit, _, error) = CliRunner.Run("run", Image("faults/faults.elf"), "-m", "8");

        Assert.That(exit, Is.EqualTo(CliApplication.UsageError));
        Assert.That(error, Does.Contain("does not fit in RAM"));
    }

    [Test]
    public void Inspect_Device_AddsTheNvmeController()
    {
        var (exit, output, error) = CliRunner.Run("inspect", "--json", "--device", "nvme,size=1M");

        Assert.That(exit, Is.Zero, error);
        var pci = JsonNode.Parse(output)!["pci"]!.AsArray();
        Assert.That(pci.Select(f => (string?)f!["bdf"]), Does.Contain("00:01.0"));
    }

    [Test]
    public void RunHelp_DescribesTheFirmwareChoice()
    {
        var (exit, output, _) = CliRunner.Run("run", "--help");

        Assert.That(exit, Is.Zero);
        Assert.That(output, Does.Contain("--no-firmware"));
        Assert.That(output, Does.Contain("built-in firmware"));
        Assert.That(output, Does.Contain("--max-time"));
    }
}
