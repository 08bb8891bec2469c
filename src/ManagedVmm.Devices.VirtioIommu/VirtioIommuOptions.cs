using System.Numerics;
using ManagedVmm.Devices.VirtioIommu.Spec;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// Options of the virtio-iommu device, named after QEMU's <c>virtio-iommu-pci</c> properties where one exists
/// (<c>granule</c>, <c>aw-bits</c> → input range, <c>boot-bypass</c>, <c>reserved-regions</c>). Validated when the
/// device is built (<see cref="Validate"/>); an invalid set is a host configuration error with every problem listed.
/// </summary>
public sealed class VirtioIommuOptions
{
    /// <summary>Configuration section name (<c>VirtioIommu</c>).</summary>
    public const string SectionName = "VirtioIommu";

    /// <summary>Default offered features: QEMU's set (no legacy F_BYPASS, which the spec says new devices SHOULD NOT offer).</summary>
    public const VirtioIommuFeatures DefaultFeatures =
        VirtioIommuFeatures.InputRange | VirtioIommuFeatures.DomainRange | VirtioIommuFeatures.MapUnmap |
        VirtioIommuFeatures.Probe | VirtioIommuFeatures.Mmio | VirtioIommuFeatures.BypassConfig;

    /// <summary>Default granule: 4 KiB, the x86 page size (a granule above the guest page size makes Linux fail).</summary>
    public const ulong DefaultGranule = 4096;

    /// <summary>The x86 MSI doorbell window (local APIC), reported as RESV_MEM MSI and identity-mapped (QEMU pc does the same).</summary>
    public const ulong X86MsiWindowStart = 0xFEE0_0000;

    /// <inheritdoc cref="X86MsiWindowStart"/>
    public const ulong X86MsiWindowEnd = 0xFEEF_FFFF;

    /// <summary>Ceiling for <see cref="MaxDomains"/>: every domain costs a tree and a table entry.</summary>
    public const int HardMaxDomains = 1 << 20;

    /// <summary>Ceiling for mapping limits: one mapping is a 40-byte tree node, so 16 Mi mappings is 640 MiB of host memory.</summary>
    public const int HardMaxMappings = 1 << 24;

    /// <summary>Ceiling for <see cref="ProbeSize"/>: the PROBE reply is staged in a buffer of this size.</summary>
    public const uint MaxProbeSize = 64 * 1024;

    /// <summary>Ceiling for <see cref="MaxPendingFaults"/>.</summary>
    public const int HardMaxPendingFaults = 4096;

    /// <summary>Largest split virtqueue (virtio v1.2 §2.7: queue size ≤ 32768, a power of 2).</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>Device-specific features offered to the driver (bits 0–6 of §5.13.3).</summary>
    public VirtioIommuFeatures Features { get; set; } = DefaultFeatures;

    /// <summary>
    /// Mapping granule in bytes, a power of two; 1 allows byte-granular mappings (page_size_mask bit 0, which the
    /// spec permits). Null means <see cref="DefaultGranule"/>, or the lowest bit of <see cref="PageSizeMask"/> when that is set.
    /// </summary>
    public ulong? Granule { get; set; }

    /// <summary>
    /// <c>page_size_mask</c> as presented. 0 (default) derives it from the granule: every power of two from the granule
    /// up (QEMU's <c>-granule</c>). When set, its lowest set bit is the granule.
    /// </summary>
    public ulong PageSizeMask { get; set; }

    /// <summary><c>input_range.start</c>: first usable IOVA.</summary>
    public ulong InputRangeStart { get; set; }

    /// <summary><c>input_range.end</c> (inclusive): last usable IOVA. Default 2^64−1 (QEMU's <c>aw-bits=64</c>).</summary>
    public ulong InputRangeEnd { get; set; } = ulong.MaxValue;

    /// <summary><c>domain_range.start</c>: first valid domain ID.</summary>
    public uint DomainRangeStart { get; set; }

    /// <summary><c>domain_range.end</c> (inclusive): last valid domain ID.</summary>
    public uint DomainRangeEnd { get; set; } = uint.MaxValue;

    /// <summary><c>probe_size</c>: bytes of the PROBE properties area (QEMU: 512).</summary>
    public uint ProbeSize { get; set; } = 512;

    /// <summary>Initial (and system-reset) value of config <c>bypass</c>, used when BYPASS_CONFIG is offered (QEMU <c>boot-bypass</c>).</summary>
    public bool BootBypass { get; set; } = true;

    /// <summary>Size of both virtqueues (QEMU, cloud-hypervisor and crosvm: 256).</summary>
    public int QueueSize { get; set; } = 256;

    /// <summary>Most domains alive at once; an ATTACH that would create one more is answered NOMEM (cloud-hypervisor: 64 Ki).</summary>
    public int MaxDomains { get; set; } = 1 << 16;

    /// <summary>Most mappings in one domain; a MAP beyond it is answered NOMEM.</summary>
    public int MaxMappingsPerDomain { get; set; } = 1 << 20;

    /// <summary>Most mappings across all domains; a MAP beyond it is answered NOMEM (cloud-hypervisor: 1 Mi).</summary>
    public int MaxMappings { get; set; } = 1 << 20;

    /// <summary>Fault events waiting for eventq buffers; beyond it new faults are counted and dropped.</summary>
    public int MaxPendingFaults { get; set; } = 64;

    /// <summary>First address of the MSI doorbell window (RESV_MEM MSI in PROBE; identity in translation).</summary>
    public ulong MsiWindowStart { get; set; } = X86MsiWindowStart;

    /// <summary>Last address (inclusive) of the MSI doorbell window.</summary>
    public ulong MsiWindowEnd { get; set; } = X86MsiWindowEnd;

    /// <summary>Extra reserved regions reported by PROBE after the MSI window (QEMU <c>reserved-regions</c>).</summary>
    public List<VirtioIommuReservedRegion> ReservedRegions { get; set; } = [];

    /// <summary>Requester IDs on bus 0 that this IOMMU leaves untranslated (and which are therefore not its endpoints).</summary>
    public List<ushort> ExcludedEndpoints { get; set; } = [];

    /// <summary>PCI device number for the virtio-iommu function, or null for the next free slot.</summary>
    public int? Slot { get; set; }

    /// <summary>The effective <c>page_size_mask</c>.</summary>
    public ulong EffectivePageSizeMask =>
        PageSizeMask != 0 ? PageSizeMask : ~((Granule ?? DefaultGranule) - 1);

    /// <summary>The effective granule: the lowest set bit of <see cref="EffectivePageSizeMask"/>.</summary>
    public ulong EffectiveGranule
    {
        get
        {
            ulong mask = EffectivePageSizeMask;
            return mask & (~mask + 1);
        }
    }

    /// <summary>Every problem with these options, in words a user can act on; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if ((Features & ~VirtioIommuFeatures.AllKnown) != 0)
        {
            errors.Add($"Features: unknown bits 0x{(ulong)(Features & ~VirtioIommuFeatures.AllKnown):x} (known: bits 0-6)");
        }

        if ((Features & VirtioIommuFeatures.Bypass) != 0 && (Features & VirtioIommuFeatures.BypassConfig) != 0)
        {
            errors.Add("Features: Bypass and BypassConfig must not be offered together (virtio v1.2 §5.13.3)");
        }

        if (Granule is { } g && !BitOperations.IsPow2(g))
        {
            errors.Add($"Granule: {g} is not a power of two");
        }

        if (PageSizeMask != 0 && Granule is { } g2 && BitOperations.IsPow2(g2) && (PageSizeMask & (~PageSizeMask + 1)) != g2)
        {
            errors.Add($"PageSizeMask 0x{PageSizeMask:x} has lowest bit 0x{PageSizeMask & (~PageSizeMask + 1):x} but Granule is {g2}; set one of them");
        }

        ulong granule = EffectiveGranule;
        if (InputRangeStart > InputRangeEnd)
        {
            errors.Add($"InputRange: start 0x{InputRangeStart:x} is after end 0x{InputRangeEnd:x}");
        }
        else if (granule != 0 && (InputRangeStart % granule != 0 || (InputRangeEnd != ulong.MaxValue && (InputRangeEnd + 1) % granule != 0)))
        {
            errors.Add($"InputRange: [0x{InputRangeStart:x}, 0x{InputRangeEnd:x}] is not aligned to the granule {granule}");
        }

        if (DomainRangeStart > DomainRangeEnd)
        {
            errors.Add($"DomainRange: start {DomainRangeStart} is after end {DomainRangeEnd}");
        }

        if (ProbeSize > MaxProbeSize)
        {
            errors.Add($"ProbeSize: {ProbeSize} exceeds {MaxProbeSize}");
        }
        else if ((Features & VirtioIommuFeatures.Probe) != 0 &&
                 ProbeSize < (ulong)(1 + ReservedRegions.Count) * VirtioIommuProbeResvMem.Size)
        {
            errors.Add($"ProbeSize: {ProbeSize} bytes cannot hold the MSI window and {ReservedRegions.Count} reserved region(s) ({VirtioIommuProbeResvMem.Size} bytes each)");
        }

        if (QueueSize < 2 || QueueSize > MaxQueueSize || !BitOperations.IsPow2(QueueSize))
        {
            errors.Add($"QueueSize: {QueueSize} must be a power of two in [2, {MaxQueueSize}]");
        }

        CheckLimit(errors, nameof(MaxDomains), MaxDomains, HardMaxDomains);
        CheckLimit(errors, nameof(MaxMappingsPerDomain), MaxMappingsPerDomain, HardMaxMappings);
        CheckLimit(errors, nameof(MaxMappings), MaxMappings, HardMaxMappings);
        CheckLimit(errors, nameof(MaxPendingFaults), MaxPendingFaults, HardMaxPendingFaults);

        if (MsiWindowStart > MsiWindowEnd)
        {
            errors.Add($"MsiWindow: start 0x{MsiWindowStart:x} is after end 0x{MsiWindowEnd:x}");
        }

        for (int i = 0; i < ReservedRegions.Count; i++)
        {
            var r = ReservedRegions[i];
            if (r.Start > r.End)
            {
                errors.Add($"ReservedRegions[{i}]: start 0x{r.Start:x} is after end 0x{r.End:x}");
                continue;
            }

            if (r.Subtype != VirtioIommuResvMemSubtype.Reserved)
            {
                errors.Add($"ReservedRegions[{i}]: subtype {r.Subtype} not allowed; the MSI window is MsiWindowStart/End (one MSI region per endpoint, §5.13.6.6.1)");
            }

            if (r.Start <= MsiWindowEnd && MsiWindowStart <= r.End)
            {
                errors.Add($"ReservedRegions[{i}]: [0x{r.Start:x}, 0x{r.End:x}] overlaps the MSI window");
            }

            for (int j = 0; j < i; j++)
            {
                var o = ReservedRegions[j];
                if (r.Start <= o.End && o.Start <= r.End)
                {
                    errors.Add($"ReservedRegions[{i}]: overlaps ReservedRegions[{j}]");
                }
            }
        }

        if (Slot is { } d && (d < 0 || d > 31))
        {
            errors.Add($"Slot: {d} is not a PCI device number (0-31)");
        }

        return errors;
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem when the options are invalid.</summary>
    public void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(SectionName, typeof(VirtioIommuOptions), errors);
        }
    }

    private static void CheckLimit(List<string> errors, string name, int value, int max)
    {
        if (value < 1 || value > max)
        {
            errors.Add($"{name}: {value} must be in [1, {max}]");
        }
    }
}

/// <summary>An extra reserved IOVA region, reported by PROBE as RESV_MEM and refused by MAP.</summary>
public sealed class VirtioIommuReservedRegion
{
    public ulong Start { get; set; }

    /// <summary>Inclusive end.</summary>
    public ulong End { get; set; }

    public VirtioIommuResvMemSubtype Subtype { get; set; } = VirtioIommuResvMemSubtype.Reserved;
}

/// <summary>Validates <see cref="VirtioIommuOptions"/> for the Options pattern (<c>ValidateOnStart</c>).</summary>
public sealed class VirtioIommuOptionsValidator : IValidateOptions<VirtioIommuOptions>
{
    public ValidateOptionsResult Validate(string? name, VirtioIommuOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
