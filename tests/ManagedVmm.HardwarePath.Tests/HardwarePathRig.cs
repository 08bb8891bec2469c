using ManagedVmm.Core;
using ManagedVmm.Core.Memory;
using ManagedVmm.Devices.Nvme;
using ManagedVmm.Devices.VirtioIommu;
using ManagedVmm.Testing;
using ManagedVmm.Testing.Nvme;
using ManagedVmm.Testing.Virtio;

namespace ManagedVmm.HardwarePath.Tests;

/// <summary>
/// A whole machine (real DI graph, no CPU) with <c>AddVirtioIommu</c> at 00:03.0 and <c>AddNvme</c> at 00:04.0,
/// enumerated the way firmware does it. The test plays both guest drivers:
/// <list type="bullet">
/// <item><see cref="Viommu"/> — the IOMMU driver, its rings and requests in <see cref="IommuDriverArea"/>;</item>
/// <item><see cref="Nvme"/> — the NVMe driver, whose queues, Identify pages and PRP lists live in
/// <see cref="NvmeArena"/> and whose data buffers are at <see cref="DataArea"/>; it hands the device
/// <c>Viommu.DeviceAddress(gpa)</c>: the IOVA once a buffer is mapped, the GPA before.</item>
/// </list>
/// IOVAs are deliberately inside RAM but away from the GPAs they map, so a translation that was skipped would
/// land somewhere a byte comparison sees.
/// </summary>
internal sealed class HardwarePathRig : IDisposable
{
    public const int IommuSlot = 3;
    public const int NvmeSlot = 4;
    public const int LbaSize = 512;

    public static readonly (ulong Start, ulong End) IommuDriverArea = (0x0010_0000, 0x0080_0000);
    public static readonly (ulong Start, ulong End) NvmeArena = (0x0080_0000, 0x00C0_0000);
    public static readonly (ulong Start, ulong End) DataArea = (0x0100_0000, 0x0110_0000);

    /// <summary>Where the NVMe arena appears to the device once mapped (GPA 0x0080_0000 → IOVA 0x0200_0000).</summary>
    public const ulong NvmeArenaIova = 0x0200_0000;

    /// <summary>Where data buffers appear to the device once mapped (GPA 0x0100_0000 → IOVA 0x0300_0000).</summary>
    public const ulong DataIova = 0x0300_0000;

    private ulong _nextData = DataArea.Start;

    public HardwarePathRig()
    {
        Machine = MachineHarness.Create(s => s
            .AddVirtioIommu(o => o.Slot = IommuSlot)
            .AddNvme(o =>
            {
                o.Size = 1 << 20;
                o.LbaSize = LbaSize;
                o.Slot = NvmeSlot;
                o.Latency = NvmeLatencyOptions.Zero;
            }));
        Functions = Machine.PciEnumerate();
        Viommu = ViommuTestDriver.Find(Machine, new GuestBufferAllocator(Machine.Ram, IommuDriverArea.Start, IommuDriverArea.End), Functions);
        var nvme = Functions.Single(f => f.ClassCode == 0x01_08_02);
        Nvme = new NvmeTestDriver(Machine, nvme.Address, nvme.BarAddresses[0],
            new GuestBufferAllocator(Machine.Ram, NvmeArena.Start, NvmeArena.End), Viommu.DeviceAddress);
        Iommu = Machine.Machine.GetRequiredService<VirtioIommu>();
    }

    public MachineHarness Machine { get; }

    public IReadOnlyList<EnumeratedFunction> Functions { get; }

    public ViommuTestDriver Viommu { get; }

    public NvmeTestDriver Nvme { get; }

    public VirtioIommu Iommu { get; }

    /// <summary>The NVMe controller's endpoint ID (its requester ID) as the IOMMU driver names it.</summary>
    public uint NvmeEndpoint => Nvme.Bdf.RequesterId;

    public GuestRamBytes Ram => new(Machine.Ram);

    /// <summary>A 4 KiB data buffer (GPA) in the data area.</summary>
    public ulong NewDataBuffer()
    {
        ulong at = _nextData;
        _nextData += 0x1000;
        return at;
    }

    /// <summary>The IOVA the IOMMU driver gives a data buffer.</summary>
    public static ulong DataIovaOf(ulong gpa) => DataIova + (gpa - DataArea.Start);

    /// <summary>
    /// The IOMMU driver's part of bringing the NVMe up behind the IOMMU, as Linux's dma-iommu would: attach the
    /// endpoint to <paramref name="domain"/> and map the arena (queues, Identify and log pages, PRP lists).
    /// </summary>
    public void AttachNvmeAndMapItsArena(uint domain)
    {
        Viommu.Initialize();
        Assert.That(Viommu.Attach(domain, NvmeEndpoint), Is.EqualTo(ViommuTestDriver.SOk), "ATTACH nvme");
        Assert.That(Viommu.MapBuffer(domain, NvmeArena.Start, NvmeArena.End - NvmeArena.Start, NvmeArenaIova), Is.EqualTo(ViommuTestDriver.SOk), "MAP arena");
    }

    public void Dispose() => Machine.Dispose();
}

/// <summary>Whole-RAM copies and comparisons.</summary>
internal readonly struct GuestRamBytes(ManagedVmm.Core.Memory.GuestRam ram)
{
    public byte[] Read(ulong address, int length)
    {
        var b = new byte[length];
        Assert.That(ram.TryRead(address, b), Is.True);
        return b;
    }

    public void Fill(ulong address, int length, byte value) => ram.TryFill(address, (ulong)length, value);

    public void Write(ulong address, byte[] data) => Assert.That(ram.TryWrite(address, data), Is.True);

    /// <summary>All of the first <paramref name="length"/> bytes of RAM.</summary>
    public byte[] Snapshot(ulong length) => Read(0, (int)length);
}
