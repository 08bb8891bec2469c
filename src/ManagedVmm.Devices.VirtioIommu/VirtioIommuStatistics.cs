using ManagedVmm.Devices.VirtioIommu.Spec;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// Counters of the device (ARCHITECTURE §4): requests by type and by status, requests returned unanswered, kicks
/// and chains per kick (bumped by the queue glue), translations, faults by reason and their fate, live and peak
/// mappings and domains. Plain fields: the device is single-threaded like the rest of the machine.
/// </summary>
public sealed class VirtioIommuStatistics
{
    private const int TypeSlots = (int)VirtioIommuRequestType.Probe + 1;
    private const int StatusSlots = (int)VirtioIommuStatus.NoMem + 1;

    private readonly long[] _byTypeAndStatus = new long[TypeSlots * StatusSlots];
    private readonly long[] _faultsByReason = new long[(int)VirtioIommuFaultReason.Mapping + 1];

    /// <summary>Chains returned with used length 0 because they could not be parsed (head or tail space too short).</summary>
    public long MalformedRequests { get; private set; }

    /// <summary>Chains returned with used length 0 because the type is unknown or not negotiated (PROBE without F_PROBE).</summary>
    public long UnsupportedTypeRequests { get; private set; }

    /// <summary>Requestq notifications (kicks) the glue reported.</summary>
    public long Kicks { get; private set; }

    /// <summary>Chains processed over all kicks.</summary>
    public long ChainsProcessed { get; private set; }

    /// <summary>Most chains processed by one kick.</summary>
    public long MaxChainsPerKick { get; private set; }

    /// <summary>Translate calls (each returns one contiguous piece or a fault).</summary>
    public long Translations { get; private set; }

    /// <summary>Translate calls answered by identity because the endpoint was in bypass (config bypass or bypass domain).</summary>
    public long BypassTranslations { get; private set; }

    /// <summary>Translate calls answered by identity because the address is in the MSI window.</summary>
    public long MsiWindowTranslations { get; private set; }

    /// <summary>Faults recorded (all reasons).</summary>
    public long Faults { get; private set; }

    /// <summary>Fault events written into eventq buffers by the glue.</summary>
    public long FaultEventsDelivered { get; internal set; }

    /// <summary>Fault events dropped: no eventq buffer, or the pending queue was full.</summary>
    public long FaultEventsDropped { get; internal set; }

    public long LiveMappings { get; private set; }

    public long PeakMappings { get; private set; }

    public long LiveDomains { get; private set; }

    public long PeakDomains { get; private set; }

    /// <summary>Total requests answered with a status (all types, all statuses).</summary>
    public long Requests { get; private set; }

    /// <summary>Requests of <paramref name="type"/> answered with <paramref name="status"/>.</summary>
    public long RequestCount(VirtioIommuRequestType type, VirtioIommuStatus status) =>
        (uint)type < TypeSlots && (uint)status < StatusSlots ? _byTypeAndStatus[((int)type * StatusSlots) + (int)status] : 0;

    /// <summary>Requests of <paramref name="type"/> answered with any status.</summary>
    public long RequestCount(VirtioIommuRequestType type)
    {
        long sum = 0;
        for (int s = 0; s < StatusSlots; s++)
        {
            sum += RequestCount(type, (VirtioIommuStatus)s);
        }

        return sum;
    }

    /// <summary>Requests of any type answered with <paramref name="status"/>.</summary>
    public long RequestCount(VirtioIommuStatus status)
    {
        long sum = 0;
        for (int t = 1; t < TypeSlots; t++)
        {
            sum += RequestCount((VirtioIommuRequestType)t, status);
        }

        return sum;
    }

    /// <summary>Faults recorded with <paramref name="reason"/>.</summary>
    public long FaultCount(VirtioIommuFaultReason reason) =>
        (uint)reason < (uint)_faultsByReason.Length ? _faultsByReason[(int)reason] : 0;

    /// <summary>The glue reports one requestq notification and how many chains it processed.</summary>
    public void RecordKick(int chainsProcessed)
    {
        Kicks++;
        ChainsProcessed += chainsProcessed;
        if (chainsProcessed > MaxChainsPerKick)
        {
            MaxChainsPerKick = chainsProcessed;
        }
    }

    internal void RecordRequest(VirtioIommuRequestType type, VirtioIommuStatus status)
    {
        Requests++;
        _byTypeAndStatus[((int)type * StatusSlots) + (int)status]++;
    }

    internal void RecordMalformed() => MalformedRequests++;

    internal void RecordUnsupportedType() => UnsupportedTypeRequests++;

    internal void RecordTranslation() => Translations++;

    internal void RecordBypassTranslation() => BypassTranslations++;

    internal void RecordMsiWindowTranslation() => MsiWindowTranslations++;

    internal void RecordFault(VirtioIommuFaultReason reason)
    {
        Faults++;
        _faultsByReason[(int)reason]++;
    }

    internal void SetLive(long mappings, long domains)
    {
        LiveMappings = mappings;
        LiveDomains = domains;
        PeakMappings = Math.Max(PeakMappings, mappings);
        PeakDomains = Math.Max(PeakDomains, domains);
    }

    /// <summary>A copy of the counters for <c>inspect</c> and state dumps.</summary>
    public VirtioIommuStatisticsSnapshot Snapshot()
    {
        var byType = new Dictionary<string, long>();
        var byStatus = new Dictionary<string, long>();
        for (int t = 1; t < TypeSlots; t++)
        {
            byType[((VirtioIommuRequestType)t).ToString()] = RequestCount((VirtioIommuRequestType)t);
        }

        for (int s = 0; s < StatusSlots; s++)
        {
            byStatus[((VirtioIommuStatus)s).ToString()] = RequestCount((VirtioIommuStatus)s);
        }

        var faults = new Dictionary<string, long>();
        for (int r = 0; r < _faultsByReason.Length; r++)
        {
            faults[((VirtioIommuFaultReason)r).ToString()] = _faultsByReason[r];
        }

        return new VirtioIommuStatisticsSnapshot(
            Requests, byType, byStatus, MalformedRequests, UnsupportedTypeRequests, Kicks, ChainsProcessed, MaxChainsPerKick,
            Translations, BypassTranslations, MsiWindowTranslations, Faults, faults, FaultEventsDelivered, FaultEventsDropped,
            LiveMappings, PeakMappings, LiveDomains, PeakDomains);
    }
}

/// <summary>A copy of <see cref="VirtioIommuStatistics"/> (JSON-friendly).</summary>
public sealed record VirtioIommuStatisticsSnapshot(
    long Requests,
    IReadOnlyDictionary<string, long> RequestsByType,
    IReadOnlyDictionary<string, long> RequestsByStatus,
    long MalformedRequests,
    long UnsupportedTypeRequests,
    long Kicks,
    long ChainsProcessed,
    long MaxChainsPerKick,
    long Translations,
    long BypassTranslations,
    long MsiWindowTranslations,
    long Faults,
    IReadOnlyDictionary<string, long> FaultsByReason,
    long FaultEventsDelivered,
    long FaultEventsDropped,
    long LiveMappings,
    long PeakMappings,
    long LiveDomains,
    long PeakDomains);
