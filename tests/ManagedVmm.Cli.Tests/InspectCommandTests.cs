using System.Text.Json.Nodes;

namespace ManagedVmm.Cli.Tests;

public sealed class InspectCommandTests
{
    [Test]
    public void Help_ListsTheCommands()
    {
        var (exit, output, _) = CliRunner.Run("--help");
        Assert.That(exit, Is.Zero);
        Assert.That(output, Does.Contain("inspect"));
    }

    [Test]
    public void Inspect_ListsTheHostBridgeLikeLspci()
    {
        var (exit, output, _) = CliRunner.Run("inspect");
        Assert.That(exit, Is.Zero);
        Assert.That(output, Does.Contain("00:00.0 Host bridge [0600]: Vendor 8086 Device 29c0"));
        Assert.That(output, Does.Contain("Control: I/O- Mem- BusMaster-"));
    }

    [Test]
    public void InspectJson_IsValidJson_WithTheSameFunctions()
    {
        var (exit, output, _) = CliRunner.Run("inspect", "--json");
        Assert.That(exit, Is.Zero);
        var root = JsonNode.Parse(output)!.AsObject();
        var pci = root["pci"]!.AsArray();
        Assert.That(pci.Select(f => (string)f!["bdf"]!), Does.Contain("00:00.0"));
        Assert.That((ulong)root["memorySize"]!, Is.EqualTo(512UL << 20));
    }

    [TestCase("4G", 4UL << 30)]
    [TestCase("256", 256UL << 20)]
    [TestCase("64M", 64UL << 20)]
    public void Inspect_MemoryOption_SetsRam(string value, ulong bytes)
    {
        var (exit, output, _) = CliRunner.Run("inspect", "--json", "-m", value);
        Assert.That(exit, Is.Zero);
        Assert.That((ulong)JsonNode.Parse(output)!["memorySize"]!, Is.EqualTo(bytes));
    }

    [TestCase("12X")]
    [TestCase("1K")]
    [TestCase("-5")]
    [TestCase("")]
    public void Inspect_BadMemory_IsAClearUsageError(string value)
    {
        var (exit, _, error) = CliRunner.Run("inspect", "-m", value);
        Assert.That(exit, Is.EqualTo(CliApplication.UsageError));
        Assert.That(error, Does.Contain("memory"));
    }

    [Test]
    public void UnknownOption_IsAUsageError()
    {
        var (exit, _, error) = CliRunner.Run("inspect", "--no-such-option");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(error, Does.Contain("--no-such-option"));
    }

    [Test]
    public void Inspect_DefaultMachine_HasVirtioIommuAndNvme_WithDecodedState()
    {
        var (exit, output, _) = CliRunner.Run("inspect", "--json");
        Assert.That(exit, Is.Zero);
        var pci = JsonNode.Parse(output)!["pci"]!.AsArray();
        var iommu = pci.Single(f => (string)f!["deviceId"]! == "1057")!;
        Assert.That((string)iommu["classCode"]!, Is.EqualTo("088000"));
        Assert.That((string)iommu["device"]!["iommu"]!["Config"]!["Bypass"]!.ToJsonString(), Is.EqualTo("1"));
        var nvme = pci.Single(f => (string)f!["classCode"]! == "010802")!;
        Assert.That(nvme["device"], Is.Not.Null, "the NVMe controller reports its registers and queues");
    }

    [Test]
    public void Inspect_NoDefaults_IsTheBareMachine()
    {
        var (exit, output, _) = CliRunner.Run("inspect", "--json", "--no-defaults");
        Assert.That(exit, Is.Zero);
        Assert.That(JsonNode.Parse(output)!["pci"]!.AsArray().Select(f => (string)f!["name"]!), Is.EqualTo(new[] { "host-bridge" }));
    }

    [Test]
    public void Inspect_VirtioIommuOptions_ComeFromTheDeviceSpec()
    {
        var (exit, output, error) = CliRunner.Run("inspect", "--json", "--device", "virtio-iommu-pci,granule=1,boot-bypass=off,slot=5");
        Assert.That(exit, Is.Zero, error);
        var iommu = JsonNode.Parse(output)!["pci"]!.AsArray().Single(f => (string)f!["deviceId"]! == "1057")!;
        Assert.That((string)iommu["bdf"]!, Is.EqualTo("00:05.0"));
        var config = iommu["device"]!["iommu"]!["Config"]!;
        Assert.That(((JsonNode)config["Granule"]!).ToJsonString(), Is.EqualTo("1"));
        Assert.That(((JsonNode)config["Bypass"]!).ToJsonString(), Is.EqualTo("0"));
    }

    [TestCase("virtio-iommu-pci,granule=3", "granule")]
    [TestCase("virtio-iommu-pci,wibble=1", "unknown property")]
    [TestCase("virtio-iommu-pci,queue-size=7", "queue")]
    public void Inspect_BadVirtioIommuOptions_AreOneLineUsageErrors(string spec, string expected)
    {
        var (exit, _, error) = CliRunner.Run("inspect", "--device", spec);
        Assert.That(exit, Is.EqualTo(CliApplication.UsageError));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.Contain(expected).IgnoreCase);
    }

    [Test]
    public void RunStats_ReportBothDefaultDevices()
    {
        var (exit, _, error) = CliRunner.Run("run", "--stats");
        Assert.That(exit, Is.EqualTo(1), "hello exits through debug exit 0");
        Assert.That(error, Does.Contain("virtio-iommu 00:01.0: requests 0"));
        Assert.That(error, Does.Contain("nvme 00:02.0: commands 0"));
    }
}
