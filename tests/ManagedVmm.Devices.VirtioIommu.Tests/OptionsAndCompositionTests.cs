using System.Text.Json;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.VirtioIommu.Spec;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>Options validation, DI registration, and the inspect snapshot.</summary>
public sealed class OptionsAndCompositionTests
{
    private static IEnumerable<TestCaseData> InvalidOptions()
    {
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => o.Granule = 3000), "Granule").SetName("Options_GranuleNotPowerOfTwo_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => { o.Granule = 4096; o.PageSizeMask = 0x2000; }), "PageSizeMask").SetName("Options_MaskDisagreeingWithGranule_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => o.Features |= VirtioIommuFeatures.Bypass), "Bypass").SetName("Options_BypassWithBypassConfig_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => { o.InputRangeStart = 10; o.InputRangeEnd = 5; }), "InputRange").SetName("Options_InvertedInputRange_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => o.InputRangeEnd = 0x1234), "granule").SetName("Options_UnalignedInputRange_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => { o.DomainRangeStart = 9; o.DomainRangeEnd = 1; }), "DomainRange").SetName("Options_InvertedDomainRange_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => o.ProbeSize = 16), "ProbeSize").SetName("Options_ProbeSizeTooSmallForMsiWindow_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => o.QueueSize = 100), "QueueSize").SetName("Options_QueueSizeNotPowerOfTwo_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => o.MaxDomains = 0), "MaxDomains").SetName("Options_ZeroMaxDomains_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => o.MaxMappings = int.MaxValue), "MaxMappings").SetName("Options_MaxMappingsAboveCeiling_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => o.ReservedRegions.Add(new() { Start = 0xFEE0_1000, End = 0xFEE0_1FFF })), "MSI window").SetName("Options_ReservedRegionOverMsiWindow_IsRefused");
        yield return new TestCaseData((Action<VirtioIommuOptions>)(o => o.ReservedRegions.Add(new() { Start = 0, End = 1, Subtype = VirtioIommuResvMemSubtype.Msi })), "subtype").SetName("Options_SecondMsiRegion_IsRefused");
    }

    [TestCaseSource(nameof(InvalidOptions))]
    public void InvalidOptions_AreRefusedWithAClearMessage(Action<VirtioIommuOptions> configure, string mentions)
    {
        var o = new VirtioIommuOptions();
        configure(o);
        var ex = Assert.Throws<OptionsValidationException>(() => new VirtioIommu(Microsoft.Extensions.Options.Options.Create(o), new GuestErrorLog()));
        Assert.That(ex!.Message, Does.Contain(mentions));
    }

    [Test]
    public void DefaultOptions_AreValid_AndLikeQemus()
    {
        var o = new VirtioIommuOptions();
        Assert.That(o.Validate(), Is.Empty);
        Assert.Multiple(() =>
        {
            Assert.That(o.ProbeSize, Is.EqualTo(512u));
            Assert.That(o.QueueSize, Is.EqualTo(256));
            Assert.That(o.BootBypass, Is.True);
            Assert.That(o.Features.HasFlag(VirtioIommuFeatures.Bypass), Is.False);
            Assert.That(o.EffectiveGranule, Is.EqualTo(4096UL));
        });
    }

    [Test]
    public void AddVirtioIommuCore_RegistersTheDeviceAndItsTranslator()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new GuestErrorLog());
        services.AddVirtioIommuCore(o => o.Granule = 1);
        using var sp = services.BuildServiceProvider();
        var iommu = sp.GetRequiredService<VirtioIommu>();
        Assert.That(iommu.Config.Granule, Is.EqualTo(1UL));
        Assert.That(sp.GetServices<IDmaTranslator>().Single(), Is.SameAs(iommu.Translator));
    }

    [Test]
    public void AddVirtioIommuCore_InvalidOptions_FailValidation()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new GuestErrorLog());
        services.AddVirtioIommuCore(o => o.QueueSize = 3);
        using var sp = services.BuildServiceProvider();
        Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<VirtioIommuOptions>>().Value.ToString());
    }

    [Test]
    public void Snapshot_ShowsConfigEndpointsDomainsAndMappings_AsTextAndJson()
    {
        var bench = new IommuTestBench();
        bench.Attach(3, IommuTestBench.Nvme);
        bench.Map(3, 0x10000, 0x10FFF, 0x200000, VirtioIommuMapFlags.Read | VirtioIommuMapFlags.Write);
        var snap = bench.Iommu.Snapshot();
        Assert.That(snap.Endpoints.Single(), Is.EqualTo(new VirtioIommuEndpointSnapshot("00:03.0", IommuTestBench.Nvme, 3)));
        Assert.That(snap.Domains.Single().Mappings.Single().PhysStart, Is.EqualTo(0x200000UL));
        Assert.That(snap.Config.Bypass, Is.EqualTo(1));

        var text = new StringWriter();
        snap.WriteText(text);
        Assert.That(text.ToString(), Does.Contain("domain 3: endpoints [00:03.0], 1 mapping(s)"));
        Assert.That(text.ToString(), Does.Contain("[0x10000, 0x10fff] -> 0x200000 Read, Write"));

        string json = JsonSerializer.Serialize(snap);
        Assert.That(json, Does.Contain("\"PageSizeMask\":18446744073709547520"));
        Assert.That(json, Does.Contain("\"Bdf\":\"00:03.0\""));
    }

    [Test]
    public void Snapshot_CapsMappingsPerDomain()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        for (ulong i = 0; i < 10; i++)
        {
            bench.Map(1, i * 0x1000, (i * 0x1000) + 0xFFF, 0);
        }

        var d = bench.Iommu.Snapshot(maxMappingsPerDomain: 4).Domains.Single();
        Assert.That(d.MappingCount, Is.EqualTo(10));
        Assert.That(d.Mappings, Has.Count.EqualTo(4));
    }
}
