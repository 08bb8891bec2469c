// Wall-clock figures for the virtio-iommu device logic (no virtqueue):
//   dotnet run -c Release --project bench/ManagedVmm.Benchmarks.VirtioIommu [-- seconds-per-figure]
// 1. MAP+UNMAP request pairs per second through VirtioIommuRequestProcessor (4 KiB mappings, one domain that
//    also holds 1,000 other mappings, as a driver with live buffers would);
// 1b. MAP+UNMAP request pairs per second THROUGH THE QUEUE: the virtio-iommu-pci function on a device-level bed,
//    the driver side in test RAM (requests written once, descriptors and the available ring written per batch, as
//    Linux's viommu_add_req does), one notify per batch of 128 requests (viommu_sync_req), the device popping,
//    processing and returning every chain with its used length;
// 2. translations per second on a domain holding 100,000 4 KiB mappings (random addresses, 512-byte reads);
// 3. allocation per request and per translation (GC.GetAllocatedBytesForCurrentThread).
using System.Buffers.Binary;
using System.Diagnostics;
using ManagedVmm.Core;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.VirtioIommu;
using ManagedVmm.Pci;
using ManagedVmm.Testing;
using ManagedVmm.Testing.Virtio;
using ManagedVmm.Virtio.Spec;
using Microsoft.Extensions.Options;

double seconds = args.Length > 0 && double.TryParse(args[0], System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : 2.0;
var nvme = Bdf.FromRequesterId(0x18);

var iommu = new VirtioIommu(Options.Create(new VirtioIommuOptions { MaxMappings = 1 << 20, MaxMappingsPerDomain = 1 << 20 }), new GuestErrorLog());
iommu.Place(Bdf.FromRequesterId(0x20), new AllExist());
iommu.AcceptFeatures(iommu.OfferedFeatures);
var tail = new byte[4];
Check(iommu.Requests.Process(Attach(1, 0x18), tail), tail);

// --- 1. MAP + UNMAP pairs -------------------------------------------------------------------------------------
for (ulong i = 0; i < 1000; i++)
{
    Check(iommu.Requests.Process(Map(1, 0x1_0000_0000 + (i * 0x1000), 0x1000, i * 0x1000), tail), tail);
}

var mapReqs = new byte[256][];
var unmapReqs = new byte[256][];
for (int i = 0; i < 256; i++)
{
    mapReqs[i] = Map(1, (ulong)i * 0x1000, 0x1000, 0x4000_0000 + ((ulong)i * 0x1000));
    unmapReqs[i] = Unmap(1, (ulong)i * 0x1000, 0x1000);
}

long pairs = 0;
long allocBefore = GC.GetAllocatedBytesForCurrentThread();
var cpu = Process.GetCurrentProcess().TotalProcessorTime;
var sw = Stopwatch.StartNew();
while (sw.Elapsed.TotalSeconds < seconds)
{
    for (int i = 0; i < 256; i++)
    {
        iommu.Requests.Process(mapReqs[i], tail);
    }

    for (int i = 0; i < 256; i++)
    {
        iommu.Requests.Process(unmapReqs[i], tail);
    }

    pairs += 256;
}

sw.Stop();
double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
long allocPairs = GC.GetAllocatedBytesForCurrentThread() - allocBefore;
Console.WriteLine($"MAP+UNMAP pairs through the request processor: {pairs / sw.Elapsed.TotalSeconds:N0} pairs/s wall, {pairs / cpuSeconds:N0} pairs/s of CPU time ({cpuSeconds * 1e9 / pairs:F0} ns CPU/pair, {(double)allocPairs / pairs:F1} B allocated/pair)");

// --- 1b. MAP + UNMAP pairs through the virtqueue ------------------------------------------------------------------
{
    var qIommu = new VirtioIommu(Options.Create(new VirtioIommuOptions()), new GuestErrorLog());
    var function = VirtioIommuPciFunction.Create(new VirtioIommuDevice(qIommu));
    using var bed = new PciTestBed(translators: [function]);
    bed.Place(new PciHostBridge(), 0);
    bed.Place(function, 4);
    var driver = ViommuTestDriver.Find(bed, bed.Alloc, bed.PciEnumerate());
    driver.Initialize((1UL << VirtioFeatures.VERSION_1) | ViommuTestDriver.Bit(ViommuTestDriver.FMapUnmap), eventq: false);
    if (driver.Attach(1, 0) != ViommuTestDriver.SOk)
    {
        throw new InvalidOperationException("ATTACH failed");
    }

    const int Batch = 128; // chains per kick; 2 descriptors each fill the 256-entry queue
    var q = driver.RequestQueue;
    ulong mapArea = bed.Alloc.Alloc(Batch * 64, 64);
    ulong unmapArea = bed.Alloc.Alloc(Batch * 64, 64);
    ulong tails = bed.Alloc.Alloc(Batch * 4, 16);
    var scratch = new byte[64];
    for (int i = 0; i < Batch; i++)
    {
        ViommuTestDriver.WriteMap(scratch, 1, (ulong)i * 0x1000, ((ulong)i * 0x1000) + 0xFFF, 0x4000_0000 + ((ulong)i * 0x1000), ViommuTestDriver.MapRead | ViommuTestDriver.MapWrite);
        bed.Ram.TryWrite(mapArea + ((ulong)i * 64), scratch.AsSpan(0, 36));
        ViommuTestDriver.WriteUnmap(scratch, 1, (ulong)i * 0x1000, ((ulong)i * 0x1000) + 0xFFF);
        bed.Ram.TryWrite(unmapArea + ((ulong)i * 64), scratch.AsSpan(0, 28));
    }

    ushort availIdx = 0;
    void SendBatch(ulong requests, uint length)
    {
        for (int i = 0; i < Batch; i++)
        {
            q.WriteDescriptor(2 * i, requests + ((ulong)i * 64), length, VirtqDescFlags.NEXT, (ushort)((2 * i) + 1));
            q.WriteDescriptor((2 * i) + 1, tails + ((ulong)i * 4), 4, VirtqDescFlags.WRITE, 0);
            q.SetAvailEntry((availIdx + i) % q.Size, (ushort)(2 * i));
        }

        availIdx += Batch;
        q.SetAvailIdx(availIdx);
        q.Kick();
        if (q.DeviceUsedIdx != availIdx)
        {
            throw new InvalidOperationException($"device used {q.DeviceUsedIdx}, expected {availIdx}");
        }
    }

    long queuePairs = 0;
    long queueAlloc = GC.GetAllocatedBytesForCurrentThread();
    var queueCpu = Process.GetCurrentProcess().TotalProcessorTime;
    var queueSw = Stopwatch.StartNew();
    while (queueSw.Elapsed.TotalSeconds < seconds)
    {
        SendBatch(mapArea, 36);
        SendBatch(unmapArea, 28);
        queuePairs += Batch;
    }

    queueSw.Stop();
    double queueCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - queueCpu).TotalSeconds;
    long queueAllocated = GC.GetAllocatedBytesForCurrentThread() - queueAlloc;
    var st = qIommu.Statistics;
    if (st.RequestCount(ManagedVmm.Devices.VirtioIommu.Spec.VirtioIommuStatus.Ok) != st.Requests || st.LiveMappings != 0)
    {
        throw new InvalidOperationException("a request through the queue failed");
    }

    Console.WriteLine($"MAP+UNMAP pairs through the virtqueue ({Batch} requests per kick): {queuePairs / queueSw.Elapsed.TotalSeconds:N0} pairs/s wall, {queuePairs / queueCpuSeconds:N0} pairs/s of CPU time ({queueCpuSeconds * 1e9 / queuePairs:F0} ns CPU/pair incl. the test driver, {(double)queueAllocated / queuePairs:F1} B allocated/pair); kicks {st.Kicks:N0}, max {st.MaxChainsPerKick} chains/kick");
}

// --- 2. translations on 100,000 mappings -------------------------------------------------------------------------
var big = new VirtioIommu(Options.Create(new VirtioIommuOptions()), new GuestErrorLog());
big.Place(Bdf.FromRequesterId(0x20), new AllExist());
big.AcceptFeatures(big.OfferedFeatures);
Check(big.Requests.Process(Attach(1, 0x18), tail), tail);
const int Mappings = 100_000;
var sw2 = Stopwatch.StartNew();
for (int i = 0; i < Mappings; i++)
{
    // Every other page, physically scattered, so no two mappings merge.
    Check(big.Requests.Process(Map(1, (ulong)i * 0x2000, 0x1000, (ulong)((i * 7919) % Mappings) * 0x1000), tail), tail);
}

sw2.Stop();
Console.WriteLine($"Building the domain: {Mappings:N0} MAPs in {sw2.Elapsed.TotalMilliseconds:F0} ms ({Mappings / sw2.Elapsed.TotalSeconds:N0} MAP/s)");

var rng = new Random(42);
var iovas = new ulong[1 << 16];
for (int i = 0; i < iovas.Length; i++)
{
    iovas[i] = ((ulong)rng.Next(Mappings) * 0x2000) + (ulong)rng.Next(0, 0x1000 - 512);
}

var translator = big.Translator;
long translations = 0;
ulong sink = 0;
allocBefore = GC.GetAllocatedBytesForCurrentThread();
cpu = Process.GetCurrentProcess().TotalProcessorTime;
sw = Stopwatch.StartNew();
while (sw.Elapsed.TotalSeconds < seconds)
{
    for (int i = 0; i < iovas.Length; i++)
    {
        var t = translator.Translate(nvme, iovas[i], 512, DmaAccess.Read);
        sink += t.Address;
    }

    translations += iovas.Length;
}

sw.Stop();
cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
long allocTranslations = GC.GetAllocatedBytesForCurrentThread() - allocBefore;
if (big.Statistics.Faults != 0 || sink == 0)
{
    throw new InvalidOperationException("benchmark translations faulted");
}

Console.WriteLine($"Translations on a domain of {Mappings:N0} mappings: {translations / sw.Elapsed.TotalSeconds:N0} translations/s wall, {translations / cpuSeconds:N0}/s of CPU time ({cpuSeconds * 1e9 / translations:F0} ns CPU each, {(double)allocTranslations / translations:F2} B allocated each)");

static void Check(uint used, byte[] tail)
{
    if (used != 4 || tail[0] != 0)
    {
        throw new InvalidOperationException($"request failed: used {used}, status {tail[0]}");
    }
}

static byte[] Attach(uint domain, uint endpoint)
{
    var b = new byte[20];
    b[0] = 1;
    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), domain);
    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), endpoint);
    return b;
}

static byte[] Map(uint domain, ulong iova, ulong size, ulong phys)
{
    var b = new byte[36];
    b[0] = 3;
    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), domain);
    BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), iova);
    BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), iova + size - 1);
    BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(24), phys);
    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(32), 3);
    return b;
}

static byte[] Unmap(uint domain, ulong iova, ulong size)
{
    var b = new byte[28];
    b[0] = 4;
    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), domain);
    BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), iova);
    BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), iova + size - 1);
    return b;
}

internal sealed class AllExist : IPciTopology
{
    public bool Exists(Bdf bdf) => true;
}
