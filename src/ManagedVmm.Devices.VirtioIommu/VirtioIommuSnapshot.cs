using ManagedVmm.Core;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>A read-only picture of the virtio-iommu for <c>managedvmm inspect</c> (text and JSON) and state dumps.</summary>
public sealed record VirtioIommuSnapshot(
    VirtioIommuConfigSnapshot Config,
    string OfferedFeatures,
    string NegotiatedFeatures,
    string? Self,
    bool UnattachedEndpointsBypass,
    IReadOnlyList<VirtioIommuEndpointSnapshot> Endpoints,
    IReadOnlyList<VirtioIommuDomainSnapshot> Domains,
    int PendingFaults,
    VirtioIommuStatisticsSnapshot Statistics)
{
    internal static VirtioIommuSnapshot Capture(VirtioIommu iommu, int maxMappingsPerDomain)
    {
        var c = iommu.Config;
        var config = new VirtioIommuConfigSnapshot(c.PageSizeMask, c.Granule, c.InputRangeStart, c.InputRangeEnd,
            c.DomainRangeStart, c.DomainRangeEnd, c.ProbeSize, c.Bypass ? (byte)1 : (byte)0);

        var attached = new List<(ushort Endpoint, uint Domain)>();
        iommu.Domains.CopyEndpoints(attached);
        var endpoints = new List<VirtioIommuEndpointSnapshot>(attached.Count);
        var byDomain = new Dictionary<uint, List<string>>();
        foreach (var (ep, dom) in attached)
        {
            string name = Bdf.FromRequesterId(ep).ToString();
            endpoints.Add(new VirtioIommuEndpointSnapshot(name, ep, dom));
            if (!byDomain.TryGetValue(dom, out var list))
            {
                byDomain[dom] = list = [];
            }

            list.Add(name);
        }

        var domains = new List<VirtioIommuDomainSnapshot>();
        foreach (var d in iommu.Domains.Domains)
        {
            var mappings = new List<IommuMapping>();
            d.Mappings.CopyTo(mappings, maxMappingsPerDomain);
            var shown = new List<VirtioIommuMappingSnapshot>(mappings.Count);
            foreach (var m in mappings)
            {
                shown.Add(new VirtioIommuMappingSnapshot(m.VirtStart, m.VirtEnd, m.PhysStart, m.Flags.ToString()));
            }

            domains.Add(new VirtioIommuDomainSnapshot(d.Id, d.IsBypass, byDomain.TryGetValue(d.Id, out var eps) ? eps : [],
                d.Mappings.Count, shown));
        }

        domains.Sort((a, b) => a.Id.CompareTo(b.Id));
        return new VirtioIommuSnapshot(config, iommu.OfferedFeatures.ToString(), iommu.NegotiatedFeatures.ToString(),
            iommu.Self?.ToString(), iommu.UnattachedEndpointsBypass, endpoints, domains, iommu.Faults.Count,
            iommu.Statistics.Snapshot());
    }

    /// <summary>Writes the snapshot as indented text (the <c>inspect</c> listing).</summary>
    public void WriteText(TextWriter writer, string indent = "\t")
    {
        var c = Config;
        writer.WriteLine($"{indent}Device config: page_size_mask=0x{c.PageSizeMask:x16} (granule {c.Granule}) input_range=[0x{c.InputRangeStart:x}, 0x{c.InputRangeEnd:x}] domain_range=[{c.DomainRangeStart}, {c.DomainRangeEnd}] probe_size={c.ProbeSize} bypass={c.Bypass}");
        writer.WriteLine($"{indent}Features: offered {OfferedFeatures}; negotiated {NegotiatedFeatures}");
        writer.WriteLine($"{indent}Unattached endpoints: {(UnattachedEndpointsBypass ? "bypass" : "blocked")}; pending faults: {PendingFaults}");
        writer.WriteLine($"{indent}Endpoints attached: {Endpoints.Count}");
        foreach (var e in Endpoints)
        {
            writer.WriteLine($"{indent}\t{e.Bdf} -> domain {e.Domain}");
        }

        writer.WriteLine($"{indent}Domains: {Domains.Count}");
        foreach (var d in Domains)
        {
            writer.WriteLine($"{indent}\tdomain {d.Id}{(d.Bypass ? " (bypass)" : "")}: endpoints [{string.Join(", ", d.Endpoints)}], {d.MappingCount} mapping(s)");
            foreach (var m in d.Mappings)
            {
                writer.WriteLine($"{indent}\t\t[0x{m.VirtStart:x}, 0x{m.VirtEnd:x}] -> 0x{m.PhysStart:x} {m.Flags}");
            }

            if (d.Mappings.Count < d.MappingCount)
            {
                writer.WriteLine($"{indent}\t\t... {d.MappingCount - d.Mappings.Count} more");
            }
        }

        var s = Statistics;
        writer.WriteLine($"{indent}Statistics: requests {s.Requests} (malformed {s.MalformedRequests}, unsupported type {s.UnsupportedTypeRequests}), kicks {s.Kicks}, chains {s.ChainsProcessed} (max {s.MaxChainsPerKick}/kick)");
        writer.WriteLine($"{indent}\tby type: {Join(s.RequestsByType)}; by status: {Join(s.RequestsByStatus)}");
        writer.WriteLine($"{indent}\ttranslations {s.Translations} (bypass {s.BypassTranslations}, MSI window {s.MsiWindowTranslations}), faults {s.Faults} ({Join(s.FaultsByReason)}), events delivered {s.FaultEventsDelivered}, dropped {s.FaultEventsDropped}");
        writer.WriteLine($"{indent}\tmappings live {s.LiveMappings} peak {s.PeakMappings}; domains live {s.LiveDomains} peak {s.PeakDomains}");
    }

    private static string Join(IReadOnlyDictionary<string, long> counts)
    {
        var parts = new List<string>();
        foreach (var (k, v) in counts)
        {
            if (v != 0)
            {
                parts.Add($"{k}={v}");
            }
        }

        return parts.Count == 0 ? "none" : string.Join(' ', parts);
    }
}

/// <summary>The device configuration, decoded (virtio v1.2 §5.13.4).</summary>
public sealed record VirtioIommuConfigSnapshot(
    ulong PageSizeMask, ulong Granule, ulong InputRangeStart, ulong InputRangeEnd,
    uint DomainRangeStart, uint DomainRangeEnd, uint ProbeSize, byte Bypass);

/// <summary>An attached endpoint.</summary>
public sealed record VirtioIommuEndpointSnapshot(string Bdf, ushort EndpointId, uint Domain);

/// <summary>A domain with its endpoints and (the first) mappings.</summary>
public sealed record VirtioIommuDomainSnapshot(
    uint Id, bool Bypass, IReadOnlyList<string> Endpoints, int MappingCount, IReadOnlyList<VirtioIommuMappingSnapshot> Mappings);

/// <summary>One mapping.</summary>
public sealed record VirtioIommuMappingSnapshot(ulong VirtStart, ulong VirtEnd, ulong PhysStart, string Flags);
