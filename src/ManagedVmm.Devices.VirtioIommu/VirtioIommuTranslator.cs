using ManagedVmm.Core;
using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.VirtioIommu.Spec;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// The virtio-iommu's side of the DMA seam. <see cref="Covers"/>: every function on bus 0 except the IOMMU itself
/// and the excluded ones (options). <see cref="Translate"/> follows virtio v1.2 §5.13.6 "Device operations"
/// (bypass rules) and the reference's §6.9:
/// <list type="number">
/// <item>the IOMMU's own requests are never translated;</item>
/// <item>an unattached endpoint bypasses when BYPASS_CONFIG is offered and config <c>bypass</c> is 1, or F_BYPASS
/// was negotiated; an endpoint in a bypass domain always bypasses;</item>
/// <item>otherwise the MSI window is identity, a RESERVED region faults (R_MAPPING), an unattached endpoint faults
/// (R_DOMAIN), and an address is translated through the domain's mapping holding it, checking READ/WRITE;</item>
/// <item>the returned piece runs to the end of the mapping and on through following mappings that are adjacent in
/// both IOVA and physical space with the needed permission (at most <see cref="MaxMergedMappings"/>), so the caller
/// loops only where the physical layout breaks.</item>
/// </list>
/// A fault is returned as a value and recorded: statistics, trace and a fault event for the eventq.
/// </summary>
public sealed class VirtioIommuTranslator : IDmaTranslator
{
    /// <summary>Adjacent mappings merged into one returned piece; bounds the work of one call.</summary>
    public const int MaxMergedMappings = 64;

    private readonly VirtioIommu _iommu;

    internal VirtioIommuTranslator(VirtioIommu iommu) => _iommu = iommu;

    public bool Covers(Bdf requester) => _iommu.Covers(requester);

    public DmaTranslation Translate(Bdf requester, ulong iova, ulong length, DmaAccess access)
    {
        if (length == 0)
        {
            length = 1;
        }

        // Largest length that does not wrap past 2^64 - 1.
        ulong maxLength = ulong.MaxValue - iova;
        if (length - 1 > maxLength)
        {
            length = maxLength + 1;
        }

        ushort rid = requester.RequesterId;
        if (!_iommu.Covers(requester))
        {
            return DmaTranslation.To(iova, length);
        }

        var stats = _iommu.Statistics;
        stats.RecordTranslation();
        var domain = _iommu.Domains.DomainOf(rid);
        if (domain == null ? _iommu.UnattachedEndpointsBypass : domain.IsBypass)
        {
            stats.RecordBypassTranslation();
            return Traced(rid, iova, length, access, DmaTranslation.To(iova, length));
        }

        var faultFlags = (access & DmaAccess.Write) != 0 ? VirtioIommuFaultFlags.Write : VirtioIommuFaultFlags.Read;
        faultFlags |= VirtioIommuFaultFlags.Address;

        if (iova >= _iommu.MsiWindowStart && iova <= _iommu.MsiWindowEnd)
        {
            stats.RecordMsiWindowTranslation();
            ulong inWindow = _iommu.MsiWindowEnd - iova;
            return Traced(rid, iova, length, access, DmaTranslation.To(iova, length - 1 > inWindow ? inWindow + 1 : length));
        }

        if (_iommu.IsInReservedRegion(iova))
        {
            return _iommu.ReportFault(VirtioIommuFaultReason.Mapping, faultFlags, rid, iova);
        }

        if (domain == null)
        {
            return _iommu.ReportFault(VirtioIommuFaultReason.Domain, faultFlags, rid, iova);
        }

        var required = (access & DmaAccess.Write) != 0 ? VirtioIommuMapFlags.Write : VirtioIommuMapFlags.Read;
        if ((access & DmaAccess.Read) != 0)
        {
            required |= VirtioIommuMapFlags.Read;
        }

        var tree = domain.Mappings;
        if (!tree.TryFindContaining(iova, out var m) || (m.Flags & required) != required)
        {
            return _iommu.ReportFault(VirtioIommuFaultReason.Mapping, faultFlags, rid, iova);
        }

        ulong gpa = m.Translate(iova);
        ulong available = m.VirtEnd - iova; // bytes after the first one
        for (int merged = 0; length - 1 > available && merged < MaxMergedMappings && m.VirtEnd != ulong.MaxValue; merged++)
        {
            ulong nextVirt = m.VirtEnd + 1;
            ulong nextPhys = m.Translate(m.VirtEnd) + 1;
            if (!tree.TryFindContaining(nextVirt, out var next) || next.PhysStart != nextPhys || (next.Flags & required) != required)
            {
                break;
            }

            available += next.VirtEnd - next.VirtStart + 1;
            m = next;
        }

        return Traced(rid, iova, length, access, DmaTranslation.To(gpa, length - 1 > available ? available + 1 : length));
    }

    private DmaTranslation Traced(ushort rid, ulong iova, ulong length, DmaAccess access, DmaTranslation result)
    {
        VirtioIommuTrace.Translate(_iommu.Trace, rid, iova, length, access, result.Address, result.Length);
        return result;
    }
}
