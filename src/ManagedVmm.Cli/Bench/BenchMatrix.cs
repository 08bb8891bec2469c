namespace ManagedVmm.Cli.Bench;

/// <summary>An IOMMU policy: the guest's kernel-command-line switches, and whether the machine has a virtio-iommu.</summary>
public sealed record BenchVariant(string Name, string Description, string Switches, bool HasIommu);

/// <summary>An fio-like workload of nvme-fio: its <c>fio.*</c> switches.</summary>
public sealed record BenchWorkload(string Name, string Description, string Switches);

/// <summary>One cell of the matrix: one deterministic VM run.</summary>
public sealed record BenchConfiguration(BenchVariant Variant, BenchWorkload Workload, CostProfile Profile, int Ios)
{
    /// <summary>The guest command line: variant switches, workload switches, the I/O count, verification off.</summary>
    public string CommandLine => $"{Variant.Switches} {Workload.Switches} fio.ios={Ios}".Trim();

    public string Key => $"{Variant.Name}/{Workload.Name}";
}

/// <summary>The variants and workloads of the flush-policy experiment (issue 7; linux-guest-driver.md §3).</summary>
public static class BenchMatrix
{
    /// <summary>The reference every ratio is taken against.</summary>
    public const string BaselineVariant = "strict";

    public static IReadOnlyList<BenchVariant> Variants { get; } =
    [
        new("strict", "before the patch: strict, MAP synced inside map_pages", "iommu.strict=1 viommu.sync_map=0", true),
        new("strict-map", "strict + iotlb_sync_map", "iommu.strict=1 viommu.sync_map=1", true),
        new("lazy-percpu", "lazy, per-CPU flush queue + iotlb_sync_map", "iommu.strict=0 viommu.sync_map=1 viommu.deferred_flush=1 iommu.fq=percpu", true),
        new("lazy-single", "lazy, single flush queue + iotlb_sync_map (the seed patch)", "iommu.strict=0 viommu.sync_map=1 viommu.deferred_flush=1 iommu.fq=single", true),
        new("passthrough", "no IOMMU translation (iommu.passthrough=1, no virtio-iommu)", "iommu.passthrough=1", false),
    ];

    public static IReadOnlyList<BenchWorkload> Workloads { get; } =
    [
        new("randread-qd1", "4 KiB random read, QD1", "fio.rw=randread fio.bs=4096 fio.iodepth=1"),
        new("randread-qd32", "4 KiB random read, QD32", "fio.rw=randread fio.bs=4096 fio.iodepth=32"),
        new("randwrite-qd32", "4 KiB random write, QD32", "fio.rw=randwrite fio.bs=4096 fio.iodepth=32"),
        new("randwrite-64k", "64 KiB random write, a scatter list of 16 separate 4 KiB pages per I/O, QD16", "fio.rw=randwrite fio.bs=65536 fio.iodepth=16"),
        new("randrw-qd32", "4 KiB mixed random read/write 50/50, QD32", "fio.rw=randrw fio.bs=4096 fio.iodepth=32"),
    ];

    /// <summary>
    /// The configurations for the named variants and workloads (all when null or empty), variant-major. Unknown
    /// names are returned in <paramref name="unknown"/>.
    /// </summary>
    public static IReadOnlyList<BenchConfiguration> Select(
        IReadOnlyCollection<string>? variants, IReadOnlyCollection<string>? workloads, CostProfile profile, int ios, out IReadOnlyList<string> unknown)
    {
        var missing = new List<string>();
        var vs = Pick(Variants, v => v.Name, variants, missing);
        var ws = Pick(Workloads, w => w.Name, workloads, missing);
        unknown = missing;
        return [.. from v in vs from w in ws select new BenchConfiguration(v, w, profile, ios)];
    }

    private static List<T> Pick<T>(IReadOnlyList<T> all, Func<T, string> name, IReadOnlyCollection<string>? wanted, List<string> missing)
    {
        if (wanted == null || wanted.Count == 0)
        {
            return [.. all];
        }

        missing.AddRange(wanted.Where(w => !all.Any(a => string.Equals(name(a), w, StringComparison.OrdinalIgnoreCase))));
        return [.. all.Where(a => wanted.Contains(name(a), StringComparer.OrdinalIgnoreCase))];
    }
}
