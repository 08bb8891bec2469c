namespace ManagedVmm.Devices.Nvme;

/// <summary>
/// Options of the NVMe controller (<c>--device nvme,size=…,file=…</c>). Defaults follow QEMU's <c>nvme</c> device
/// where it has one (reference nvme.md §10: max_ioqpairs 64, msix_qsize 65, mdts 7, mqes 0x7FF).
/// </summary>
public sealed class NvmeOptions
{
    /// <summary>Largest namespace accepted: 16 TiB (a sanity bound for a test device, not a spec limit).</summary>
    public const ulong MaxSize = 16UL << 40;

    /// <summary>Upper bound on I/O queue pairs: each pair costs two doorbells and one MSI-X vector.</summary>
    public const int MaxSupportedQueuePairs = 1024;

    /// <summary>MDTS bound: 2^10 × 4 KiB = 4 MiB, the transfer bounce buffer the controller allocates once.</summary>
    public const int MaxSupportedMdts = 10;

    /// <summary>Namespace size in bytes; a multiple of <see cref="LbaSize"/>. 0 with <see cref="File"/> takes the file's size.</summary>
    public ulong Size { get; set; } = 1UL << 30;

    /// <summary>Logical block size: 512 or 4096 bytes.</summary>
    public int LbaSize { get; set; } = 512;

    /// <summary>A disk image backing the namespace (created at <see cref="Size"/> if missing); null keeps it in memory.</summary>
    public string? File { get; set; }

    /// <summary>The namespace refuses writes (Namespace is Write Protected) and the file is opened read-only.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>I/O queue pairs offered by Number of Queues (QEMU <c>max_ioqpairs</c>, default 64).</summary>
    public int MaxIoQueuePairs { get; set; } = 64;

    /// <summary>Entries per I/O queue at most (CAP.MQES + 1; QEMU <c>mqes</c> 0x7FF gives 2048).</summary>
    public int MaxQueueEntries { get; set; } = 2048;

    /// <summary>Maximum data transfer size as a power of two of 4 KiB pages (QEMU <c>mdts</c>, default 7 = 512 KiB).</summary>
    public int Mdts { get; set; } = 7;

    /// <summary>MSI-X vectors; 0 gives one per queue (admin + I/O pairs), QEMU's <c>msix_qsize</c> 65.</summary>
    public int MsixVectors { get; set; }

    /// <summary>PCI device number on bus 0; null takes the next free slot.</summary>
    public int? Slot { get; set; }

    /// <summary>Identify Controller SN (20 ASCII characters at most).</summary>
    public string Serial { get; set; } = "MVMM0001";

    /// <summary>Identify Controller MN (40 ASCII characters at most).</summary>
    public string Model { get; set; } = "ManagedVmm NVMe Ctrl";

    /// <summary>Identify Controller FR (8 ASCII characters at most).</summary>
    public string FirmwareRevision { get; set; } = "1.0";

    /// <summary>The virtual-time latency model.</summary>
    public NvmeLatencyOptions Latency { get; set; } = new();

    internal int EffectiveMsixVectors => MsixVectors > 0 ? MsixVectors : MaxIoQueuePairs + 1;

    /// <summary>Returns an error message, or null when the options are valid.</summary>
    public string? Validate()
    {
        if (LbaSize is not (512 or 4096))
        {
            return $"nvme: LBA size {LbaSize} must be 512 or 4096";
        }

        if ((File == null || Size != 0) && (Size == 0 || Size % (ulong)LbaSize != 0 || Size > MaxSize))
        {
            return $"nvme: size {Size} must be a non-zero multiple of the LBA size {LbaSize}, at most {MaxSize}";
        }

        if (MaxIoQueuePairs is < 1 or > MaxSupportedQueuePairs)
        {
            return $"nvme: max I/O queue pairs {MaxIoQueuePairs} must be 1..{MaxSupportedQueuePairs}";
        }

        if (MaxQueueEntries is < 2 or > 65536)
        {
            return $"nvme: max queue entries {MaxQueueEntries} must be 2..65536 (CAP.MQES is 0-based, 16 bits)";
        }

        if (Mdts is < 1 or > MaxSupportedMdts)
        {
            return $"nvme: MDTS {Mdts} must be 1..{MaxSupportedMdts}";
        }

        if (MsixVectors is < 0 or > 2048)
        {
            return $"nvme: MSI-X vectors {MsixVectors} must be 0 (one per queue) or 1..2048";
        }

        if (Slot is < 0 or > 31)
        {
            return $"nvme: PCI slot {Slot} does not exist (0-31)";
        }

        if (Serial.Length > 20 || Model.Length > 40 || FirmwareRevision.Length > 8)
        {
            return "nvme: serial (20), model (40) and firmware revision (8) exceed their Identify field sizes";
        }

        return Latency.Validate();
    }
}

/// <summary>
/// Virtual-time cost of each command (reference nvme.md §11.1). A command's media work runs on one of
/// <see cref="ParallelUnits"/> units (chosen by LBA, FEMU's channel/LUN idea), so commands on different units
/// overlap and commands on the same unit queue; controller overhead and transfer time are added on top.
/// </summary>
public sealed class NvmeLatencyOptions
{
    /// <summary>Every command completes during the doorbell write that submitted it (for tests).</summary>
    public bool ZeroLatency { get; set; }

    /// <summary>Media time of a read: NAND tR 40–60 µs (FEMU 40 µs; reference §11.1 "suggested model").</summary>
    public long ReadNs { get; set; } = 60_000;

    /// <summary>Media time of a write absorbed by the DRAM buffer: ~20 µs (Micron 9200 write 21 µs, §11.1).</summary>
    public long WriteNs { get; set; } = 20_000;

    /// <summary>Flush: a DRAM-buffer drain; assumed equal to one buffered write (no cited figure).</summary>
    public long FlushNs { get; set; } = 20_000;

    /// <summary>Admin commands: controller firmware only; an assumption (no cited figure), 10 µs.</summary>
    public long AdminNs { get; set; } = 10_000;

    /// <summary>Controller and PCIe time per command: 10–20 µs (§11.1 "suggested model"), so a QD1 read is ~78 µs (P3700 77.9 µs mean).</summary>
    public long ControllerOverheadNs { get; set; } = 18_000;

    /// <summary>Transfer time per 4 KiB: PCIe 3.0 ×4 ≈ 3.5 GB/s ≈ 1.2 µs per 4 KiB.</summary>
    public long TransferNsPer4KiB { get; set; } = 1_200;

    /// <summary>Independent media units (FEMU default 8 channels × 8 LUNs = 64).</summary>
    public int ParallelUnits { get; set; } = 64;

    /// <summary>All costs zero and completion inline: the test mode.</summary>
    public static NvmeLatencyOptions Zero => new() { ZeroLatency = true, ReadNs = 0, WriteNs = 0, FlushNs = 0, AdminNs = 0, ControllerOverheadNs = 0, TransferNsPer4KiB = 0 };

    internal string? Validate()
    {
        if (ReadNs < 0 || WriteNs < 0 || FlushNs < 0 || AdminNs < 0 || ControllerOverheadNs < 0 || TransferNsPer4KiB < 0)
        {
            return "nvme: latencies must not be negative";
        }

        return ParallelUnits is < 1 or > 4096 ? $"nvme: parallel units {ParallelUnits} must be 1..4096" : null;
    }
}

/// <summary>A host configuration error of the NVMe device (bad options, a disk image that cannot be used).</summary>
public sealed class NvmeConfigurationException : Exception
{
    public NvmeConfigurationException(string message)
        : base(message)
    {
    }

    public NvmeConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
