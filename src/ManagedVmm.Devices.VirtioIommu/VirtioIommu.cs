// ManagedVmm.Devices.VirtioIommu — the virtio-iommu device logic.
//
// Models: the device side of the virtio IOMMU device, OASIS virtio v1.2 cs01 §5.13 (v1.3 and v1.4 define the same
// device): feature bits 0–6, the 40-byte device configuration with a writable `bypass`, the ATTACH, DETACH, MAP,
// UNMAP and PROBE requests with every normative check (statuses as the spec names them), bypass of unattached
// endpoints (config `bypass`, boot default 1, kept across device reset, restored on system reset) and bypass
// domains, RESV_MEM properties (the MSI window as MSI, configured regions as RESERVED), bounded domains and
// mappings answered with NOMEM, the DMA translation every other PCI function on bus 0 goes through, and fault
// records (R_DOMAIN, R_MAPPING) queued for the eventq.
//
// Where QEMU deviates, this follows the spec (docs/virtio-iommu.md lists each): unknown request types get used
// length 0 and no write; MAP checks alignment, input range and reserved regions; UNMAP that would split removes
// nothing; ATTACH checks `reserved`; a rejected ATTACH leaves the endpoint where it was.
//
// Leaves out: the virtqueues and the virtio-pci transport (ManagedVmm.Virtio; the glue class hands this class
// chains and eventq buffers), VFIO/host IOMMU notifiers, the non-standard F_MQ/PASID/page-table features,
// migration, and an IOTLB model (translation looks the mapping tree up on every call, O(log n)).
using ManagedVmm.Core;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.VirtioIommu.Spec;
using ManagedVmm.Pci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// The virtio-iommu device state and logic, transport-free. The queue glue (a virtio device behind the virtio-pci
/// transport) uses: <see cref="OfferedFeatures"/>/<see cref="AcceptFeatures"/> at FEATURES_OK,
/// <see cref="ReadConfig"/>/<see cref="WriteConfig"/> for the device-config window, <see cref="Requests"/> for every
/// requestq chain, <see cref="Faults"/> to feed the eventq, <see cref="Statistics"/>.RecordKick per notification,
/// <see cref="Reset"/> on device status 0 (Device) and machine reset (System), and <see cref="Place"/> when the
/// function is placed on the bus. The DMA seam uses <see cref="Translator"/>.
/// </summary>
public sealed class VirtioIommu : IResettable
{
    /// <summary>Source name in the guest-error log.</summary>
    public const string GuestErrorSource = "virtio-iommu";

    private readonly GuestErrorLog _guestErrors;
    private readonly VirtioIommuReservedRegion[] _reservedRegions;
    private readonly HashSet<ushort> _excluded;
    private IPciTopology? _topology;

    public VirtioIommu(IOptions<VirtioIommuOptions> options, GuestErrorLog guestErrors, ILoggerFactory? loggerFactory = null)
    {
        Options = options.Value;
        Options.ThrowIfInvalid();
        _guestErrors = guestErrors;
        Trace = loggerFactory?.CreateLogger(VirtioIommuTrace.Category) ?? NullLogger.Instance;
        OfferedFeatures = Options.Features;
        MsiWindowStart = Options.MsiWindowStart;
        MsiWindowEnd = Options.MsiWindowEnd;
        _reservedRegions = [.. Options.ReservedRegions];
        _excluded = [.. Options.ExcludedEndpoints];
        Config = new VirtioIommuConfigSpace(Options);
        Statistics = new VirtioIommuStatistics();
        Faults = new VirtioIommuFaultQueue(Options.MaxPendingFaults, Statistics);
        Domains = new IommuDomainTable();

        var resv = new VirtioIommuProbeResvMem[1 + _reservedRegions.Length];
        resv[0] = new VirtioIommuProbeResvMem(VirtioIommuResvMemSubtype.Msi, MsiWindowStart, MsiWindowEnd);
        for (int i = 0; i < _reservedRegions.Length; i++)
        {
            resv[i + 1] = new VirtioIommuProbeResvMem(_reservedRegions[i].Subtype, _reservedRegions[i].Start, _reservedRegions[i].End);
        }

        Requests = new VirtioIommuRequestProcessor(this, resv);
        Translator = new VirtioIommuTranslator(this);
    }

    public VirtioIommuOptions Options { get; }

    /// <summary>Device-specific feature bits offered (bits 0–6); the glue adds the transport bits (VERSION_1, …).</summary>
    public VirtioIommuFeatures OfferedFeatures { get; }

    /// <summary>Device-specific bits the driver accepted at FEATURES_OK (none until then, and after a device reset).</summary>
    public VirtioIommuFeatures NegotiatedFeatures { get; private set; }

    public VirtioIommuConfigSpace Config { get; }

    public VirtioIommuRequestProcessor Requests { get; }

    /// <summary>The <see cref="IDmaTranslator"/> to register with the DMA seam.</summary>
    public VirtioIommuTranslator Translator { get; }

    public VirtioIommuFaultQueue Faults { get; }

    public VirtioIommuStatistics Statistics { get; }

    /// <summary>Size of requestq and eventq.</summary>
    public int QueueSize => Options.QueueSize;

    /// <summary>The IOMMU's own PCI address once placed (its DMA is never translated).</summary>
    public Bdf? Self { get; private set; }

    /// <summary>True when an unattached endpoint is in bypass (§5.13.6: BYPASS_CONFIG offered and bypass = 1, or F_BYPASS negotiated).</summary>
    public bool UnattachedEndpointsBypass =>
        (Config.BypassOffered && Config.Bypass) || (NegotiatedFeatures & VirtioIommuFeatures.Bypass) != 0;

    internal ILogger Trace { get; }

    internal IommuDomainTable Domains { get; }

    internal ulong MsiWindowStart { get; }

    internal ulong MsiWindowEnd { get; }

    /// <summary>
    /// Tells the device where it sits and which functions exist (endpoints are the existing functions it covers).
    /// Call from the PCI function's placement hook, before any DMA.
    /// </summary>
    public void Place(Bdf self, IPciTopology topology)
    {
        Self = self;
        _topology = topology;
    }

    /// <summary>True when this IOMMU translates <paramref name="requester"/>'s DMA: bus 0, not itself, not excluded.</summary>
    public bool Covers(Bdf requester) =>
        requester.Bus == 0 && requester != Self && !_excluded.Contains(requester.RequesterId);

    /// <summary>True when <paramref name="endpoint"/> names a function that exists and that this IOMMU covers.</summary>
    public bool IsEndpoint(uint endpoint)
    {
        if (endpoint > ushort.MaxValue || _topology == null)
        {
            return false;
        }

        var bdf = Bdf.FromRequesterId((ushort)endpoint);
        return Covers(bdf) && _topology.Exists(bdf);
    }

    /// <summary>
    /// FEATURES_OK: accepts the driver's device-specific bits when they are a subset of the offered ones (else the
    /// transport must leave FEATURES_OK clear).
    /// </summary>
    public bool AcceptFeatures(VirtioIommuFeatures driverFeatures)
    {
        bool ok = (driverFeatures & ~OfferedFeatures) == 0;
        if (ok)
        {
            NegotiatedFeatures = driverFeatures;
        }

        VirtioIommuTrace.SetFeatures(Trace, driverFeatures, ok);
        return ok;
    }

    /// <summary>Reads the device configuration (any offset and width).</summary>
    public void ReadConfig(int offset, Span<byte> destination) => Config.Read(offset, destination);

    /// <summary>A driver write to the device configuration: only <c>bypass</c>, only with BYPASS_CONFIG negotiated, only 0/1.</summary>
    public void WriteConfig(int offset, ReadOnlySpan<byte> source)
    {
        bool negotiated = (NegotiatedFeatures & VirtioIommuFeatures.BypassConfig) != 0;
        string? error = Config.Write(offset, source, negotiated, out bool changed);
        if (error != null)
        {
            ReportGuestError(error);
        }

        if (changed)
        {
            VirtioIommuTrace.SetConfig(Trace, Config.Bypass);
        }
    }

    /// <summary>
    /// Device reset (virtio status 0): every endpoint detached, every domain and mapping gone, features forgotten,
    /// pending faults forgotten; <c>bypass</c> kept. System reset: the same, and <c>bypass</c> back to its initial value.
    /// </summary>
    public void Reset(ResetKind kind)
    {
        Domains.Clear();
        NegotiatedFeatures = VirtioIommuFeatures.None;
        Faults.Clear();
        Config.Reset(kind);
        UpdateLiveStatistics();
        if (kind == ResetKind.System)
        {
            VirtioIommuTrace.SystemReset(Trace, Config.Bypass);
        }
        else
        {
            VirtioIommuTrace.DeviceReset(Trace);
        }
    }

    /// <summary>A read-only picture of the device for <c>inspect</c> and state dumps (mappings capped per domain).</summary>
    public VirtioIommuSnapshot Snapshot(int maxMappingsPerDomain = 1024) => VirtioIommuSnapshot.Capture(this, maxMappingsPerDomain);

    internal bool IsDomainInRange(uint domain) =>
        (OfferedFeatures & VirtioIommuFeatures.DomainRange) == 0 ||
        (domain >= Config.DomainRangeStart && domain <= Config.DomainRangeEnd);

    internal bool IsInInputRange(ulong start, ulong end) =>
        (OfferedFeatures & VirtioIommuFeatures.InputRange) == 0 ||
        (start >= Config.InputRangeStart && end <= Config.InputRangeEnd);

    internal bool OverlapsReservedRegion(ulong start, ulong end)
    {
        if (start <= MsiWindowEnd && MsiWindowStart <= end)
        {
            return true;
        }

        foreach (var r in _reservedRegions)
        {
            if (start <= r.End && r.Start <= end)
            {
                return true;
            }
        }

        return false;
    }

    internal bool IsInReservedRegion(ulong iova)
    {
        foreach (var r in _reservedRegions)
        {
            if (iova >= r.Start && iova <= r.End)
            {
                return true;
            }
        }

        return false;
    }

    internal DmaTranslation ReportFault(VirtioIommuFaultReason reason, VirtioIommuFaultFlags flags, ushort endpoint, ulong address)
    {
        Statistics.RecordFault(reason);
        VirtioIommuTrace.ReportFault(Trace, reason, flags, endpoint, address);
        Faults.Enqueue(new VirtioIommuFault(reason, flags, endpoint, address));
        return DmaTranslation.Fault;
    }

    internal void ReportGuestError(string message) => _guestErrors.Report(GuestErrorSource, message);

    internal void UpdateLiveStatistics() => Statistics.SetLive(Domains.MappingCount, Domains.DomainCount);
}
