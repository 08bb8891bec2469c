using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using Microsoft.Extensions.Logging;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>Trace events carry QEMU-like names at Trace level under ManagedVmm.Trace.VirtioIommu.</summary>
public sealed class TraceTests
{
    [Test]
    public void Requests_TranslationsAndFaults_EmitQemuNamedTraceEvents()
    {
        var provider = new RecordingProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Trace));
        var iommu = new VirtioIommu(Microsoft.Extensions.Options.Options.Create(new VirtioIommuOptions()), new GuestErrorLog(), factory);
        iommu.Place(Core.Bdf.FromRequesterId(0x20), new FakeTopology(0, 0x18));
        iommu.AcceptFeatures(iommu.OfferedFeatures);
        iommu.WriteConfig(36, [0]);
        iommu.Requests.Process(IommuRequests.AttachReq(1, 0x18), new byte[4]);
        iommu.Requests.Process(IommuRequests.MapReq(1, 0, 0xFFF, 0x1000, 1), new byte[4]);
        iommu.Requests.Process(IommuRequests.UnmapReq(1, 0, 0xFFF), new byte[4]);
        iommu.Translator.Translate(Core.Bdf.FromRequesterId(0x18), 0, 4, DmaAccess.Read);

        Assert.That(provider.Events, Is.SupersetOf(new[]
        {
            "virtio_iommu_set_config", "virtio_iommu_attach", "virtio_iommu_map", "virtio_iommu_unmap", "virtio_iommu_report_fault",
        }));
        Assert.That(provider.Categories, Is.All.EqualTo("ManagedVmm.Trace.VirtioIommu"));
    }

    private sealed class RecordingProvider : ILoggerProvider
    {
        public List<string> Events { get; } = [];

        public List<string> Categories { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Recorder(RecordingProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (logLevel == LogLevel.Trace)
                {
                    owner.Events.Add(eventId.Name ?? "");
                    owner.Categories.Add(category);
                }
            }
        }
    }
}
