namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// Domains by ID and the domain each endpoint is attached to. Endpoints are 16-bit requester IDs, kept in a
/// two-level table (bus → 256 functions, a bus's row made on first use) so the translation path finds an
/// endpoint's domain with two array loads. The domain count is bounded by the caller (NOMEM); endpoints are
/// bounded by construction (65,536).
/// </summary>
internal sealed class IommuDomainTable
{
    private const int FunctionsPerBus = 256;

    private readonly Dictionary<uint, IommuDomain> _domains = [];
    private readonly IommuDomain?[]?[] _endpoints = new IommuDomain?[]?[256];

    public int DomainCount => _domains.Count;

    public int AttachedEndpointCount { get; private set; }

    /// <summary>Mappings across all domains.</summary>
    public long MappingCount { get; private set; }

    public IEnumerable<IommuDomain> Domains => _domains.Values;

    public bool TryGetDomain(uint id, out IommuDomain domain) => _domains.TryGetValue(id, out domain!);

    /// <summary>The domain <paramref name="endpoint"/> is attached to, or null.</summary>
    public IommuDomain? DomainOf(ushort endpoint) => _endpoints[endpoint >> 8]?[endpoint & 0xFF];

    /// <summary>Attaches an endpoint that is not attached anywhere to <paramref name="domain"/> (created if new).</summary>
    public void Attach(ushort endpoint, uint domainId, bool bypass)
    {
        if (!_domains.TryGetValue(domainId, out var domain))
        {
            domain = new IommuDomain(domainId, bypass);
            _domains.Add(domainId, domain);
        }

        var row = _endpoints[endpoint >> 8] ??= new IommuDomain?[FunctionsPerBus];
        row[endpoint & 0xFF] = domain;
        domain.EndpointCount++;
        AttachedEndpointCount++;
    }

    /// <summary>Detaches an attached endpoint; destroys its domain (and the domain's mappings) when it was the last one.</summary>
    /// <returns>The number of mappings discarded with the domain.</returns>
    public int Detach(ushort endpoint)
    {
        var row = _endpoints[endpoint >> 8];
        var domain = row?[endpoint & 0xFF];
        if (row == null || domain == null)
        {
            return 0;
        }

        row[endpoint & 0xFF] = null;
        AttachedEndpointCount--;
        if (--domain.EndpointCount > 0)
        {
            return 0;
        }

        int discarded = domain.Mappings.Count;
        MappingCount -= discarded;
        domain.Mappings.Clear();
        domain.IsAlive = false;
        domain.Generation++;
        _domains.Remove(domain.Id);
        return discarded;
    }

    public void CountMappingAdded() => MappingCount++;

    public void CountMappingsRemoved(int n) => MappingCount -= n;

    /// <summary>Lists attached endpoints in requester-ID order.</summary>
    public void CopyEndpoints(List<(ushort Endpoint, uint Domain)> destination)
    {
        for (int bus = 0; bus < _endpoints.Length; bus++)
        {
            var row = _endpoints[bus];
            if (row == null)
            {
                continue;
            }

            for (int f = 0; f < row.Length; f++)
            {
                if (row[f] is { } d)
                {
                    destination.Add(((ushort)((bus << 8) | f), d.Id));
                }
            }
        }
    }

    /// <summary>Drops every domain, endpoint and mapping (device reset, virtio v1.2 §5.13.5).</summary>
    public void Clear()
    {
        foreach (var d in _domains.Values)
        {
            d.IsAlive = false;
            d.Generation++;
        }

        _domains.Clear();
        Array.Clear(_endpoints);
        AttachedEndpointCount = 0;
        MappingCount = 0;
    }
}
