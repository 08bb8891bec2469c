// Wall-clock figures for the virtio-iommu device logic (no virtqueue):
//   dotnet run -c Release --project bench/ManagedVmm.Benchmarks.VirtioIommu [-- seconds-per-figure]
// 1. MAP+UNMAP request pairs per second through VirtioIommuRequestProcessor (4 KiB mappings, one domain that
//    also holds 1,000 other mappings, as a driver with live buffers would);
// 2. translations per second on a domain holding 100,000 4 KiB mappings (random addresses, 512-byte reads);
// 3. allocation per request and per translation (GC.GetAllocatedBytesForCurrentThread).
using System.Buffers.Binary;
using System.Diagnostics;
using ManagedVmm.Core;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.VirtioIommu;
using ManagedVmm.Pci;
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
