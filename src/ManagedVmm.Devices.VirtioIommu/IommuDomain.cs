namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// A domain (an address space): its ID, whether it is a bypass domain (ATTACH_F_BYPASS), how many endpoints are
/// attached, and its mappings. A domain exists while at least one endpoint is attached (virtio v1.2 §5.13.6.2:
/// detaching the last endpoint destroys it, mappings included).
/// </summary>
internal sealed class IommuDomain(uint id, bool isBypass)
{
    public uint Id { get; } = id;

    public bool IsBypass { get; } = isBypass;

    public int EndpointCount { get; set; }

    public IommuMappingTree Mappings { get; } = new();

    /// <summary>Bumped whenever a mapping is removed, so a cached translation can tell it is stale.</summary>
    public uint Generation { get; set; }

    /// <summary>False once the domain was destroyed (a cached reference then means nothing).</summary>
    public bool IsAlive { get; set; } = true;
}
