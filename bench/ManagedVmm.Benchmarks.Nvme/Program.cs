// NVMe device benchmark: 4 KiB random reads at queue depth 32, driven by the test-side driver through MMIO
// doorbells and guest RAM, with and without an IOMMU translator in the DMA path.
//
//   dotnet run -c Release --project bench/ManagedVmm.Benchmarks.Nvme [-- seconds]
//
// "host" figures are emulator throughput (host wall clock, zero-latency device); "virtual" figures are what the
// latency model gives the guest (default latencies, virtual clock).
using System.Diagnostics;
using ManagedVmm.Core;
using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.Nvme;
using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Testing;
using ManagedVmm.Testing.Nvme;

double seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 3;
const int QueueDepth = 32;
Console.WriteLine($"NVMe 4 KiB random read, QD{QueueDepth}, {seconds} s per case");
Console.WriteLine($"{"case",-34} {"IOPS",14} {"ns/IO (host)",14}");
foreach (bool iommu in new[] { true, false, true, false })
{
    var (iops, nsPerIo) = RunHost(iommu, seconds);
    Console.WriteLine($"{(iommu ? "host, with translator" : "host, no IOMMU"),-34} {iops,14:N0} {nsPerIo,14:N0}");
}

var (virtualIops, meanLatencyNs) = RunVirtual(20_000);
Console.WriteLine($"{"virtual time, default latency",-34} {virtualIops,14:N0}   mean latency {meanLatencyNs / 1000.0:N1} µs (virtual)");

static (NvmeTestDriver Driver, PciTestBed Bed, NvmeController Nvme) Build(bool iommu, NvmeLatencyOptions latency)
{
    const ulong offset = 0x40_0000_0000;
    var translator = new OffsetTranslator(offset);
    var bed = new PciTestBed(256UL << 20, iommu ? [translator] : null);
    var nvme = new NvmeController(new NvmeOptions { Size = 1UL << 30, Latency = latency }, bed.Scheduler);
    bed.Place(nvme, 4);
    var driver = NvmeTestDriver.Attach(bed, bed.Alloc, iommu ? a => a + offset : null);
    driver.BringUp(1, 1024);
    return (driver, bed, nvme);
}

static (double Iops, double NsPerIo) RunHost(bool iommu, double seconds)
{
    var (driver, bed, nvme) = Build(iommu, NvmeLatencyOptions.Zero);
    using var _ = bed;
    ulong buffers = bed.Alloc.Alloc(QueueDepth * 4096UL);
    var rng = new Random(1);
    ulong blocks = (1UL << 30) / 4096;
    ulong Slba() => (ulong)rng.NextInt64((long)blocks) * 8;
    NvmeCommand Cmd(int slot) => NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, Slba(), 8, driver.DeviceAddress(buffers + ((ulong)slot * 4096)), 0);

    // Warm up, then measure: keep QD32 in flight, ring the SQ once per batch and the CQ once per batch (as Linux).
    long done = 0;
    var sw = Stopwatch.StartNew();
    var measureFrom = TimeSpan.FromSeconds(0.5);
    long startCount = 0;
    TimeSpan startTime = TimeSpan.Zero;
    bool measuring = false;
    for (int i = 0; i < QueueDepth; i++)
    {
        driver.Submit(1, Cmd(i), ring: false);
    }

    driver.RingSq(1);
    while (true)
    {
        int reaped = 0;
        while (driver.TryTakeCompletion(1, out var cqe))
        {
            reaped++;
            int slot = cqe.Cid % QueueDepth;
            driver.Submit(1, Cmd(slot), ring: false);
        }

        if (reaped > 0)
        {
            driver.RingCq(1);
            driver.RingSq(1);
            done += reaped;
        }

        if (!measuring && sw.Elapsed >= measureFrom)
        {
            measuring = true;
            startCount = done;
            startTime = sw.Elapsed;
        }

        if (measuring && (sw.Elapsed - startTime).TotalSeconds >= seconds)
        {
            break;
        }
    }

    double elapsed = (sw.Elapsed - startTime).TotalSeconds;
    long ios = done - startCount;
    if (nvme.Statistics.Errors != 0)
    {
        throw new InvalidOperationException($"{nvme.Statistics.Errors} commands failed");
    }

    return (ios / elapsed, elapsed * 1e9 / ios);
}

static (double Iops, double MeanLatencyNs) RunVirtual(int ios)
{
    var (driver, bed, nvme) = Build(false, new NvmeLatencyOptions());
    using var _ = bed;
    ulong buffers = bed.Alloc.Alloc(QueueDepth * 4096UL);
    var rng = new Random(1);
    var submittedAt = new long[1 << 15]; // by CID (the driver's CIDs are 15-bit)
    long totalLatency = 0;
    long t0 = bed.Scheduler.Now;
    for (int i = 0; i < QueueDepth; i++)
    {
        submittedAt[driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, (ulong)rng.NextInt64(1 << 18) * 8, 8, buffers + ((ulong)i * 4096), 0), ring: false)] = bed.Scheduler.Now;
    }

    driver.RingSq(1);
    int done = 0;
    while (done < ios)
    {
        // Jump to the next device event, as an idle vCPU (HLT) would.
        if (bed.Scheduler.TryGetNextDeadline(out long next))
        {
            bed.Scheduler.AdvanceTo(next);
        }

        while (driver.TryTakeCompletion(1, out var cqe))
        {
            int slot = cqe.Cid % QueueDepth;
            totalLatency += bed.Scheduler.Now - submittedAt[cqe.Cid];
            done++;
            ushort cid = driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, (ulong)rng.NextInt64(1 << 18) * 8, 8, buffers + ((ulong)slot * 4096), 0), ring: false);
            submittedAt[cid] = bed.Scheduler.Now;
        }

        driver.RingCq(1);
        driver.RingSq(1);
    }

    double elapsedNs = bed.Scheduler.Now - t0;
    return (done / (elapsedNs / 1e9), (double)totalLatency / done);
}

/// <summary>An IOMMU stand-in for the benchmark: IOVA = GPA + offset for every requester, one range check per access.</summary>
internal sealed class OffsetTranslator(ulong offset) : IDmaTranslator
{
    public bool Covers(Bdf requester) => true;

    public DmaTranslation Translate(Bdf requester, ulong iova, ulong length, DmaAccess access) =>
        iova >= offset ? DmaTranslation.To(iova - offset, length) : DmaTranslation.Fault;
}
