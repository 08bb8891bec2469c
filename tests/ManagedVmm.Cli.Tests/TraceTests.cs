using ManagedVmm.Cli.Diagnostics;
using Microsoft.Extensions.Logging;

namespace ManagedVmm.Cli.Tests;

/// <summary>The --trace pattern and the stderr logger behind it.</summary>
public sealed class TraceTests
{
    [TestCase("Nvme", "ManagedVmm.Trace.Nvme", true)]
    [TestCase("nvme", "ManagedVmm.Trace.Nvme", true)]
    [TestCase("Nvme", "ManagedVmm.Trace.Nvme.Queue", true)]
    [TestCase("Nvme", "ManagedVmm.Trace.NvmeOther", false)]
    [TestCase("Nvme", "ManagedVmm.Trace.VirtioIommu", false)]
    [TestCase("ManagedVmm.Trace.VirtioIommu", "ManagedVmm.Trace.VirtioIommu", true)]
    [TestCase("*Iommu*", "ManagedVmm.Trace.VirtioIommu", true)]
    [TestCase("*Iommu*", "ManagedVmm.Trace.Nvme", false)]
    [TestCase("Nvme,VirtioIommu", "ManagedVmm.Trace.VirtioIommu", true)]
    [TestCase("all", "ManagedVmm.Trace.Pci", true)]
    [TestCase("*", "ManagedVmm.Trace.Bus", true)]
    [TestCase("all", "ManagedVmm.GuestError", false)]
    [TestCase("all", "ManagedVmm.Cpu", false)]
    public void Pattern_MatchesCategoriesUnderTheTraceRoot(string pattern, string category, bool expected)
    {
        Assert.That(TracePattern.TryParse(pattern, out var p, out string? error), Is.True, error);
        Assert.That(p.Matches(category), Is.EqualTo(expected));
    }

    [TestCase("")]
    [TestCase("Nv me")]
    [TestCase("Nvme,,Pci")]
    [TestCase("a/b")]
    public void Pattern_RejectsMalformedText(string pattern)
    {
        Assert.That(TracePattern.TryParse(pattern, out _, out string? error), Is.False);
        Assert.That(error, Does.Contain("invalid trace pattern"));
    }

    [Test]
    public void Logger_WritesTraceEventsOfMatchingCategories_AndWarningsOfEveryCategory()
    {
        var writer = new StringWriter();
        TracePattern.TryParse("Nvme", out var pattern, out _);
        using (var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new CliLoggerProvider(writer, pattern))))
        {
            var nvme = factory.CreateLogger("ManagedVmm.Trace.Nvme");
            var iommu = factory.CreateLogger("ManagedVmm.Trace.VirtioIommu");
            var guest = factory.CreateLogger("ManagedVmm.GuestError");
            Assert.That(nvme.IsEnabled(LogLevel.Trace), Is.True);
            Assert.That(iommu.IsEnabled(LogLevel.Trace), Is.False);
            nvme.LogTrace("pci_nvme_doorbell sq 1 tail 4");
            iommu.LogTrace("virtio_iommu_map");
            guest.LogWarning("guest error: cpu: first line\nsecond line");
            guest.LogInformation("not shown");
        }

        Assert.That(writer.ToString(), Is.EqualTo(
            "[ManagedVmm.Trace.Nvme] pci_nvme_doorbell sq 1 tail 4" + Environment.NewLine +
            "[ManagedVmm.GuestError] guest error: cpu: first line [...]" + Environment.NewLine));
    }
}
