using ManagedVmm.Devices.VirtioIommu.Spec;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// Executes requestq requests (virtio v1.2 §5.13.6), independent of the virtqueue: the glue hands over the
/// readable bytes of a chain (copied in once) and the writable length, and gets back the reply, always placed at
/// the start of the writable part, and the exact used length (= bytes written).
///
/// <para>Framing (reference §6.1–6.3):</para>
/// <list type="bullet">
/// <item>readable &lt; 4 (no head) or writable &lt; 4 (no room for a tail): cannot answer, used length 0, nothing written;</item>
/// <item>unknown type, or PROBE when F_PROBE was not negotiated: used length 0, nothing written (the spec's SHOULD;
/// QEMU writes UNSUPP instead);</item>
/// <item>readable part shorter than the type's structure: INVAL;</item>
/// <item>ATTACH/DETACH/MAP/UNMAP: a 4-byte tail, used length 4;</item>
/// <item>PROBE: <c>probe_size</c> bytes of properties then the tail, used length <c>probe_size + 4</c>; when the writable
/// part is smaller, no property is written: zeros then an INVAL tail at its end, used length = writable length.</item>
/// </list>
/// Each request's checks run in the order of the reference's §6, and a rejected request changes nothing.
/// </summary>
public sealed class VirtioIommuRequestProcessor
{
    /// <summary>Readable bytes the processor ever looks at (PROBE's 72); the glue may copy in just this many.</summary>
    public const int MaxReadableBytes = VirtioIommuReqProbe.ReadableSize;

    private readonly VirtioIommu _iommu;
    private readonly VirtioIommuProbeResvMem[] _resvProperties;

    internal VirtioIommuRequestProcessor(VirtioIommu iommu, VirtioIommuProbeResvMem[] resvProperties)
    {
        _iommu = iommu;
        _resvProperties = resvProperties;
        ReplyCapacity = (int)Math.Max(VirtioIommuReqTail.Size, iommu.Config.ProbeSize + VirtioIommuReqTail.Size);
    }

    /// <summary>The most bytes a reply can take (<c>probe_size + 4</c>): the size of the glue's reply buffer.</summary>
    public int ReplyCapacity { get; }

    /// <summary>
    /// Processes one request whose writable part has been materialised in <paramref name="writable"/> (its length is
    /// the writable length). Returns the used length; exactly that many bytes at the start of
    /// <paramref name="writable"/> were written, nothing else.
    /// </summary>
    public uint Process(ReadOnlySpan<byte> readable, Span<byte> writable) =>
        Process(readable, (ulong)writable.Length, writable);

    /// <summary>
    /// Processes one request. <paramref name="readable"/> is the chain's readable part (or its first
    /// <see cref="MaxReadableBytes"/> bytes or more); <paramref name="writableLength"/> is the total device-writable
    /// length of the chain. The reply goes into <paramref name="reply"/> (at least
    /// <c>min(writableLength, ReplyCapacity)</c> bytes), to be copied to the start of the writable part. Returns the
    /// used length, which is also the number of reply bytes.
    /// </summary>
    public uint Process(ReadOnlySpan<byte> readable, ulong writableLength, Span<byte> reply)
    {
        int type = readable.Length >= VirtioIommuReqHead.Size ? VirtioIommuReqHead.Read(readable).Type : -1;
        if (type < 0 || writableLength < VirtioIommuReqTail.Size)
        {
            _iommu.Statistics.RecordMalformed();
            VirtioIommuTrace.Unparsed(_iommu.Trace, readable.Length, writableLength, type);
            _iommu.ReportGuestError($"request chain with {readable.Length} readable and {writableLength} writable bytes has no room for head or tail; returned unanswered");
            return 0;
        }

        var features = _iommu.NegotiatedFeatures;
        switch ((VirtioIommuRequestType)type)
        {
            case VirtioIommuRequestType.Attach:
                return Tail(reply, VirtioIommuRequestType.Attach, readable.Length < VirtioIommuReqAttach.ReadableSize
                    ? ShortRequest(VirtioIommuRequestType.Attach, readable.Length)
                    : Attach(VirtioIommuReqAttach.Read(readable)));
            case VirtioIommuRequestType.Detach:
                return Tail(reply, VirtioIommuRequestType.Detach, readable.Length < VirtioIommuReqDetach.ReadableSize
                    ? ShortRequest(VirtioIommuRequestType.Detach, readable.Length)
                    : Detach(VirtioIommuReqDetach.Read(readable)));
            case VirtioIommuRequestType.Map:
                return Tail(reply, VirtioIommuRequestType.Map, readable.Length < VirtioIommuReqMap.ReadableSize
                    ? ShortRequest(VirtioIommuRequestType.Map, readable.Length)
                    : (features & VirtioIommuFeatures.MapUnmap) == 0 ? NotNegotiated(VirtioIommuRequestType.Map)
                    : Map(VirtioIommuReqMap.Read(readable)));
            case VirtioIommuRequestType.Unmap:
                return Tail(reply, VirtioIommuRequestType.Unmap, readable.Length < VirtioIommuReqUnmap.ReadableSize
                    ? ShortRequest(VirtioIommuRequestType.Unmap, readable.Length)
                    : (features & VirtioIommuFeatures.MapUnmap) == 0 ? NotNegotiated(VirtioIommuRequestType.Unmap)
                    : Unmap(VirtioIommuReqUnmap.Read(readable)));
            case VirtioIommuRequestType.Probe when (features & VirtioIommuFeatures.Probe) != 0:
                return Probe(readable, writableLength, reply);
            default:
                _iommu.Statistics.RecordUnsupportedType();
                VirtioIommuTrace.Unparsed(_iommu.Trace, readable.Length, writableLength, type);
                _iommu.ReportGuestError(type == (int)VirtioIommuRequestType.Probe
                    ? "PROBE request without VIRTIO_IOMMU_F_PROBE negotiated; returned unanswered"
                    : $"request of unknown type {type}; returned unanswered");
                return 0;
        }
    }

    /// <summary>ATTACH (§5.13.6.1), checks in the order of the reference's §6.4; nothing changes unless all pass.</summary>
    private VirtioIommuStatus Attach(in VirtioIommuReqAttach req)
    {
        var status = CheckAttach(req, out var oldDomain);
        if (status == VirtioIommuStatus.Ok && oldDomain?.Id != req.Domain)
        {
            var domains = _iommu.Domains;
            ushort ep = (ushort)req.Endpoint;

            // Implicit detach (the spec's SHOULD: as if DETACH then ATTACH), destroying the old domain if emptied.
            if (oldDomain != null)
            {
                domains.Detach(ep);
            }

            domains.Attach(ep, req.Domain, (req.Flags & VirtioIommuAttachFlags.Bypass) != 0);
            _iommu.UpdateLiveStatistics();
        }

        VirtioIommuTrace.Attach(_iommu.Trace, req.Domain, req.Endpoint, (req.Flags & VirtioIommuAttachFlags.Bypass) != 0, status);
        return status;
    }

    private VirtioIommuStatus CheckAttach(in VirtioIommuReqAttach req, out IommuDomain? oldDomain)
    {
        oldDomain = null;
        if (req.Reserved != 0)
        {
            return VirtioIommuStatus.Inval; // MUST
        }

        var knownFlags = (_iommu.NegotiatedFeatures & VirtioIommuFeatures.BypassConfig) != 0
            ? VirtioIommuAttachFlags.Bypass
            : VirtioIommuAttachFlags.None;
        if ((req.Flags & ~knownFlags) != 0)
        {
            return VirtioIommuStatus.Inval; // MUST (BYPASS is unknown unless BYPASS_CONFIG was negotiated)
        }

        if (!_iommu.IsEndpoint(req.Endpoint))
        {
            return VirtioIommuStatus.NoEnt; // MUST
        }

        if (!_iommu.IsDomainInRange(req.Domain))
        {
            return VirtioIommuStatus.Range;
        }

        var domains = _iommu.Domains;
        oldDomain = domains.DomainOf((ushort)req.Endpoint);
        bool bypass = (req.Flags & VirtioIommuAttachFlags.Bypass) != 0;
        if (domains.TryGetDomain(req.Domain, out var existing))
        {
            return existing.IsBypass != bypass ? VirtioIommuStatus.Inval : VirtioIommuStatus.Ok; // SHOULD
        }

        // A new domain: the old one disappears first if this endpoint was its last.
        int freed = oldDomain is { EndpointCount: 1 } ? 1 : 0;
        return domains.DomainCount - freed + 1 > _iommu.Options.MaxDomains ? VirtioIommuStatus.NoMem : VirtioIommuStatus.Ok;
    }

    /// <summary>DETACH (§5.13.6.2): NOENT for an unknown endpoint, INVAL when it is not attached to that domain.</summary>
    private VirtioIommuStatus Detach(in VirtioIommuReqDetach req)
    {
        VirtioIommuStatus status;
        if (!_iommu.IsEndpoint(req.Endpoint))
        {
            status = VirtioIommuStatus.NoEnt; // MUST
        }
        else if (_iommu.Domains.DomainOf((ushort)req.Endpoint) is not { } domain || domain.Id != req.Domain)
        {
            status = VirtioIommuStatus.Inval; // MAY
        }
        else
        {
            _iommu.Domains.Detach((ushort)req.Endpoint);
            _iommu.UpdateLiveStatistics();
            status = VirtioIommuStatus.Ok;
        }

        VirtioIommuTrace.Detach(_iommu.Trace, req.Domain, req.Endpoint, status);
        return status;
    }

    /// <summary>MAP (§5.13.6.3), checks in the order of the reference's §6.6.</summary>
    private VirtioIommuStatus Map(in VirtioIommuReqMap req)
    {
        var status = CheckMap(req, out var domain);
        if (status == VirtioIommuStatus.Ok)
        {
            domain!.Mappings.Insert(new IommuMapping(req.VirtStart, req.VirtEnd, req.PhysStart, req.Flags));
            _iommu.Domains.CountMappingAdded();
            _iommu.UpdateLiveStatistics();
        }

        VirtioIommuTrace.Map(_iommu.Trace, req.Domain, req.VirtStart, req.VirtEnd, req.PhysStart, req.Flags, status);
        return status;
    }

    private VirtioIommuStatus CheckMap(in VirtioIommuReqMap req, out IommuDomain? domain)
    {
        domain = null;
        var knownFlags = VirtioIommuMapFlags.Read | VirtioIommuMapFlags.Write;
        if ((_iommu.NegotiatedFeatures & VirtioIommuFeatures.Mmio) != 0)
        {
            knownFlags |= VirtioIommuMapFlags.Mmio;
        }

        if ((req.Flags & ~knownFlags) != 0)
        {
            return VirtioIommuStatus.Inval; // MUST (MMIO is unknown unless F_MMIO was negotiated)
        }

        if (!_iommu.Domains.TryGetDomain(req.Domain, out var d))
        {
            return VirtioIommuStatus.NoEnt; // SHOULD
        }

        if (d.IsBypass)
        {
            return VirtioIommuStatus.Inval; // SHOULD
        }

        if (req.VirtEnd < req.VirtStart || req.PhysStart + (req.VirtEnd - req.VirtStart) < req.PhysStart)
        {
            return VirtioIommuStatus.Range; // inverted range, or the physical end wraps past 2^64
        }

        if (req.VirtEnd == req.VirtStart)
        {
            return VirtioIommuStatus.Inval; // the driver MUST send virt_end > virt_start
        }

        if (!_iommu.IsInInputRange(req.VirtStart, req.VirtEnd))
        {
            return VirtioIommuStatus.Range;
        }

        ulong granuleMask = _iommu.Config.Granule - 1;
        if ((req.VirtStart & granuleMask) != 0 || (req.PhysStart & granuleMask) != 0 || ((req.VirtEnd + 1) & granuleMask) != 0)
        {
            return VirtioIommuStatus.Range; // SHOULD
        }

        if (d.Mappings.Overlaps(req.VirtStart, req.VirtEnd))
        {
            return VirtioIommuStatus.Inval; // SHOULD
        }

        if (_iommu.OverlapsReservedRegion(req.VirtStart, req.VirtEnd))
        {
            return VirtioIommuStatus.Inval; // SHOULD reject (§5.13.6.6.1; no status named)
        }

        if (d.Mappings.Count >= _iommu.Options.MaxMappingsPerDomain || _iommu.Domains.MappingCount >= _iommu.Options.MaxMappings)
        {
            return VirtioIommuStatus.NoMem;
        }

        domain = d;
        return VirtioIommuStatus.Ok;
    }

    /// <summary>
    /// UNMAP (§5.13.6.4): removes every mapping inside the range; a mapping only partly inside (one the UNMAP would
    /// split) makes it RANGE with nothing removed. Only the mappings holding the range's first and last address can
    /// be partly inside (mappings do not overlap), so the whole check is two lookups before anything is removed.
    /// </summary>
    private VirtioIommuStatus Unmap(in VirtioIommuReqUnmap req)
    {
        int removed = 0;
        var status = CheckUnmap(req, out var domain);
        if (status == VirtioIommuStatus.Ok)
        {
            var tree = domain!.Mappings;
            ulong from = req.VirtStart;
            while (tree.TryFindCeiling(from, out var m) && m.VirtStart <= req.VirtEnd)
            {
                tree.Remove(m.VirtStart);
                removed++;
                if (m.VirtEnd >= req.VirtEnd)
                {
                    break;
                }

                from = m.VirtEnd + 1;
            }

            if (removed > 0)
            {
                domain.Generation++;
                _iommu.Domains.CountMappingsRemoved(removed);
                _iommu.UpdateLiveStatistics();
            }
        }

        VirtioIommuTrace.Unmap(_iommu.Trace, req.Domain, req.VirtStart, req.VirtEnd, removed, status);
        return status;
    }

    private VirtioIommuStatus CheckUnmap(in VirtioIommuReqUnmap req, out IommuDomain? domain)
    {
        domain = null;
        if (!_iommu.Domains.TryGetDomain(req.Domain, out var d))
        {
            return VirtioIommuStatus.NoEnt; // SHOULD
        }

        if (d.IsBypass)
        {
            return VirtioIommuStatus.Inval; // SHOULD
        }

        if (req.Reserved != 0)
        {
            return VirtioIommuStatus.Inval; // MAY (and this device then unmaps nothing)
        }

        if (req.VirtEnd < req.VirtStart || !_iommu.IsInInputRange(req.VirtStart, req.VirtEnd))
        {
            return VirtioIommuStatus.Range;
        }

        var tree = d.Mappings;
        if (tree.TryFindContaining(req.VirtStart, out var first) && first.VirtStart < req.VirtStart)
        {
            return VirtioIommuStatus.Range; // SHOULD: would split the mapping holding virt_start
        }

        if (tree.TryFindContaining(req.VirtEnd, out var last) && last.VirtEnd > req.VirtEnd)
        {
            return VirtioIommuStatus.Range; // SHOULD: would split the mapping holding virt_end
        }

        domain = d;
        return VirtioIommuStatus.Ok;
    }

    private uint Tail(Span<byte> reply, VirtioIommuRequestType type, VirtioIommuStatus status)
    {
        _iommu.Statistics.RecordRequest(type, status);
        VirtioIommuReqTail.Write(reply, status);
        return VirtioIommuReqTail.Size;
    }

    private VirtioIommuStatus ShortRequest(VirtioIommuRequestType type, int readable)
    {
        _iommu.ReportGuestError($"{type} request with only {readable} readable bytes");
        return VirtioIommuStatus.Inval;
    }

    private VirtioIommuStatus NotNegotiated(VirtioIommuRequestType type)
    {
        _iommu.ReportGuestError($"{type} request without VIRTIO_IOMMU_F_MAP_UNMAP negotiated");
        return VirtioIommuStatus.Unsupp;
    }

    private uint Probe(ReadOnlySpan<byte> readable, ulong writableLength, Span<byte> reply)
    {
        int probeSize = (int)_iommu.Config.ProbeSize;
        int expected = probeSize + VirtioIommuReqTail.Size;
        VirtioIommuStatus status;
        uint endpoint = 0;
        if (writableLength < (ulong)expected)
        {
            // §5.13.6.5: properties area smaller than probe_size → no property, INVAL. The tail goes where the driver
            // put it, at the end of its writable part; the bytes before it are zero (writable < expected, so bounded).
            int w = (int)writableLength;
            reply[..(w - VirtioIommuReqTail.Size)].Clear();
            status = VirtioIommuStatus.Inval;
            _iommu.ReportGuestError($"PROBE with {writableLength} writable bytes; probe_size + 4 = {expected} needed");
            VirtioIommuReqTail.Write(reply[(w - VirtioIommuReqTail.Size)..], status);
            Finish(status);
            return (uint)w;
        }

        var properties = reply[..probeSize];
        properties.Clear();
        if (readable.Length < VirtioIommuReqProbe.ReadableSize)
        {
            status = ShortRequest(VirtioIommuRequestType.Probe, readable.Length);
        }
        else
        {
            endpoint = VirtioIommuReqProbe.Read(readable).Endpoint;
            status = _iommu.IsEndpoint(endpoint) ? VirtioIommuStatus.Ok : VirtioIommuStatus.NoEnt;
        }

        if (status == VirtioIommuStatus.Ok)
        {
            // Options validation guarantees every property fits in probe_size.
            for (int i = 0; i < _resvProperties.Length; i++)
            {
                _resvProperties[i].Write(properties[(i * VirtioIommuProbeResvMem.Size)..]);
            }
        }

        VirtioIommuReqTail.Write(reply[probeSize..], status);
        Finish(status);
        return (uint)expected;

        void Finish(VirtioIommuStatus s)
        {
            _iommu.Statistics.RecordRequest(VirtioIommuRequestType.Probe, s);
            VirtioIommuTrace.Probe(_iommu.Trace, endpoint, s);
        }
    }
}
