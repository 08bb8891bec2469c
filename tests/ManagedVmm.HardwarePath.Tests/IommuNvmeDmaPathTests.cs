using ManagedVmm.Core;
using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing.Nvme;
using static ManagedVmm.HardwarePath.Tests.HardwarePathRig;
using D = ManagedVmm.Testing.Virtio.ViommuTestDriver;

namespace ManagedVmm.HardwarePath.Tests;

/// <summary>
/// The whole hardware path at machine level: an NVMe controller whose every DMA goes through the virtio-iommu,
/// with the test playing both guest drivers (see <see cref="HardwarePathRig"/>).
/// </summary>
public sealed class IommuNvmeDmaPathTests
{
    private const ulong RamSize = 64UL << 20;

    [Test]
    public void Enumeration_FindsHostBridge_VirtioIommu_AndNvme_WithBarsAssigned()
    {
        using var rig = new HardwarePathRig();
        var byDevice = rig.Functions.ToDictionary(f => f.Address.Device);
        Assert.Multiple(() =>
        {
            Assert.That(byDevice[0].ClassCode >> 16, Is.EqualTo(0x06u), "host bridge");
            Assert.That((byDevice[IommuSlot].VendorId, byDevice[IommuSlot].DeviceId), Is.EqualTo(((ushort)0x1AF4, (ushort)0x1057)));
            Assert.That(byDevice[IommuSlot].ClassCode, Is.EqualTo(0x08_80_00u));
            Assert.That(byDevice[IommuSlot].BarAddresses[4], Is.Not.Zero, "virtio BAR4");
            Assert.That(byDevice[NvmeSlot].ClassCode, Is.EqualTo(0x01_08_02u));
            Assert.That(byDevice[NvmeSlot].BarAddresses[0], Is.Not.Zero, "NVMe BAR0");
            Assert.That(rig.Iommu.Self, Is.EqualTo(new Bdf(0, IommuSlot, 0)));
            Assert.That(rig.Iommu.Covers(rig.Nvme.Bdf), Is.True, "the NVMe sits behind the IOMMU");
        });
    }

    [Test]
    public void BeforeAnyAttach_BootBypassLetsTheNvmeWork_AtIdentityAddresses()
    {
        using var rig = new HardwarePathRig();
        rig.Nvme.BringUp();
        ulong buffer = rig.NewDataBuffer();
        byte[] pattern = Pattern(0x1000, seed: 7);
        rig.Ram.Write(buffer, pattern);

        Assert.That(NvmeStatus.IsSuccess(rig.Nvme.Write(1, 0, 8, buffer, LbaSize).Status), Is.True);
        rig.Ram.Fill(buffer, 0x1000, 0);
        Assert.That(NvmeStatus.IsSuccess(rig.Nvme.Read(1, 0, 8, buffer, LbaSize).Status), Is.True);

        Assert.Multiple(() =>
        {
            Assert.That(rig.Ram.Read(buffer, 0x1000), Is.EqualTo(pattern));
            Assert.That(rig.Iommu.Statistics.BypassTranslations, Is.GreaterThan(0), "the DMA did go through the IOMMU, in bypass");
            Assert.That(rig.Iommu.Statistics.Faults, Is.Zero);
        });
    }

    /// <summary>
    /// The centrepiece: attach the NVMe to a domain, map its queues and buffers at IOVAs ≠ GPAs, run I/O through
    /// the mappings, unmap a buffer, and show that DMA to the stale IOVA fails (Data Transfer Error + a fault
    /// event naming the NVMe and the IOVA) without touching a byte outside the mappings.
    /// </summary>
    [Test]
    public void NvmeBehindTheIommu_DmaFollowsTheMappings_AndAnUnmappedIovaFaultsWithoutTouchingMemory()
    {
        using var rig = new HardwarePathRig();
        const uint domain = 1;

        // 1. The IOMMU driver attaches the NVMe and maps its arena; the NVMe driver brings the controller up
        //    through those IOVAs (admin/I/O queues, Identify pages, all at NvmeArenaIova + offset).
        rig.AttachNvmeAndMapItsArena(domain);
        rig.Nvme.BringUp();

        // 2. Two data buffers, each mapped at its own IOVA: A read-only for the device (a write's source), B writable.
        ulong bufferA = rig.NewDataBuffer();
        ulong bufferB = rig.NewDataBuffer();
        Assert.That(rig.Viommu.MapBuffer(domain, bufferA, 0x1000, DataIovaOf(bufferA), D.MapRead), Is.EqualTo(D.SOk));
        Assert.That(rig.Viommu.MapBuffer(domain, bufferB, 0x1000, DataIovaOf(bufferB), D.MapWrite), Is.EqualTo(D.SOk));
        Assert.That(rig.Viommu.DeviceAddress(bufferB), Is.EqualTo(DataIovaOf(bufferB)).And.Not.EqualTo(bufferB));

        // 3. Write A to LBA 8..15, read it back into B: the bytes land at B's GPA.
        byte[] pattern = Pattern(0x1000, seed: 42);
        rig.Ram.Write(bufferA, pattern);
        Assert.That(NvmeStatus.IsSuccess(rig.Nvme.Write(1, 8, 8, bufferA, LbaSize).Status), Is.True, "write through the mapping");
        Assert.That(NvmeStatus.IsSuccess(rig.Nvme.Read(1, 8, 8, bufferB, LbaSize).Status), Is.True, "read through the mapping");
        Assert.That(rig.Ram.Read(bufferB, 0x1000), Is.EqualTo(pattern), "data landed at the GPA of B");
        Assert.That(rig.Ram.Read(DataIovaOf(bufferB), 0x1000), Is.All.Zero, "nothing landed at B's IOVA taken as a GPA");
        Assert.That(rig.Iommu.Statistics.Faults, Is.Zero, "no fault so far");

        // 4. UNMAP B, then give the controller B's stale IOVA.
        ulong staleIova = DataIovaOf(bufferB);
        Assert.That(rig.Viommu.UnmapBuffer(domain, staleIova, 0x1000), Is.EqualTo(D.SOk));
        rig.Ram.Fill(bufferB, 0x1000, 0x5A);
        byte[] before = rig.Ram.Snapshot(RamSize);

        var cqe = rig.Nvme.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 8, 8, staleIova, 0));

        // 5. The read fails with Data Transfer Error ...
        Assert.That(cqe.Status & 0x7FF, Is.EqualTo(NvmeStatus.DataTransferError), NvmeStatus.Describe(cqe.Status));

        // ... the IOMMU reports the fault on its event queue: R_MAPPING, a device write, the NVMe, the IOVA ...
        var faults = rig.Viommu.TakeFaults();
        Assert.That(faults, Is.Not.Empty, "a fault event arrived on the eventq");
        Assert.Multiple(() =>
        {
            Assert.That(faults[0].UsedLength, Is.EqualTo(24u));
            Assert.That(faults[0].Reason, Is.EqualTo(D.FaultRMapping));
            Assert.That(faults[0].Flags, Is.EqualTo(D.FaultFWrite | D.FaultFAddress));
            Assert.That(faults[0].Endpoint, Is.EqualTo(rig.NvmeEndpoint));
            Assert.That(faults[0].Address, Is.EqualTo(staleIova));
        });

        // ... and no byte outside the mappings (and the two drivers' own rings and queues) changed: B kept 0x5A.
        byte[] after = rig.Ram.Snapshot(RamSize);
        Assert.That(rig.Ram.Read(bufferB, 0x1000), Is.All.EqualTo(0x5A));
        Assert.That(FirstDifferenceOutside(before, after, IommuDriverArea, NvmeArena), Is.Null);
    }

    [Test]
    public void BusMasteringOff_TheNvmeCannotDma_EvenWhereMapped()
    {
        using var rig = new HardwarePathRig();
        rig.AttachNvmeAndMapItsArena(1);
        rig.Nvme.BringUp();
        ulong buffer = rig.NewDataBuffer();
        Assert.That(rig.Viommu.MapBuffer(1, buffer, 0x1000, DataIovaOf(buffer)), Is.EqualTo(D.SOk));
        rig.Ram.Fill(buffer, 0x1000, 0x77);

        ushort command = rig.Machine.ConfigRead16(rig.Nvme.Bdf, PciConfig.Command);
        rig.Machine.ConfigWrite16(rig.Nvme.Bdf, PciConfig.Command, (ushort)(command & ~(ushort)PciCommand.BusMaster));
        long translations = rig.Iommu.Statistics.Translations;

        rig.Nvme.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 8, DataIovaOf(buffer), 0), ring: false);
        byte[] before = rig.Ram.Snapshot(RamSize); // the driver's SQ entry is in RAM; now ring the doorbell
        rig.Nvme.RingSq(1);
        rig.Machine.AdvanceClock(1_000_000);

        Assert.Multiple(() =>
        {
            Assert.That(rig.Nvme.TryTakeCompletion(1, out _), Is.False, "no completion could be posted");
            Assert.That(rig.Iommu.Statistics.Translations, Is.EqualTo(translations), "blocked before the IOMMU");
            Assert.That(rig.Viommu.TakeFaults(), Is.Empty);
            Assert.That(FirstDifferenceOutside(before, rig.Ram.Snapshot(RamSize)), Is.Null, "no byte of RAM changed");
        });
    }

    [Test]
    public void BypassOff_AnUnattachedNvme_Faults_AndTheFaultIsReported()
    {
        using var rig = new HardwarePathRig();
        rig.Viommu.Initialize();
        rig.Viommu.SetBypass(0);
        rig.Nvme.EnableController();
        ulong identifyPage = 0x00BF_0000; // in the arena, identity address: nothing is mapped
        rig.Nvme.Submit(0, new NvmeCommand { Opcode = AdminOpcode.Identify, Prp1 = identifyPage, Cdw10 = IdentifyCns.Controller });
        rig.Machine.AdvanceClock(1_000_000);

        var faults = rig.Viommu.TakeFaults();
        Assert.Multiple(() =>
        {
            Assert.That(rig.Nvme.CstsValue & Csts.Cfs, Is.Not.Zero, "the SQ entry could not be fetched: controller fatal status");
            Assert.That(faults, Is.Not.Empty);
            Assert.That(faults[0].Reason, Is.EqualTo(D.FaultRDomain));
            Assert.That(faults[0].Flags, Is.EqualTo(D.FaultFRead | D.FaultFAddress));
            Assert.That(faults[0].Endpoint, Is.EqualTo(rig.NvmeEndpoint));
            Assert.That(faults[0].Address, Is.EqualTo(NvmeArena.Start), "the admin SQ, the first allocation of the arena");
            Assert.That(rig.Ram.Read(identifyPage, 0x1000), Is.All.Zero);
        });
    }

    [Test]
    public void Inspect_ReportsBothDevices_AsStateReporters()
    {
        using var rig = new HardwarePathRig();
        rig.AttachNvmeAndMapItsArena(3);
        rig.Nvme.BringUp();
        var reporters = rig.Machine.Machine.Pci.Functions.OfType<Core.Diagnostics.IStateReporter>().ToList();
        var names = reporters.Select(r => r.StateName).ToList();
        Assert.That(names, Is.EquivalentTo(new[] { "virtio-iommu", "nvme" }));
        var iommu = reporters.Single(r => r.StateName == "virtio-iommu").CaptureState();
        var nvme = reporters.Single(r => r.StateName == "nvme").CaptureState();
        Assert.Multiple(() =>
        {
            Assert.That((uint)iommu["iommu"]!["Endpoints"]![0]!["EndpointId"]!, Is.EqualTo(rig.NvmeEndpoint));
            Assert.That((bool)nvme["Registers"]!["Csts"]!["Rdy"]!, Is.True);
            Assert.That(nvme["SubmissionQueues"]!.AsArray(), Has.Count.EqualTo(2));
        });
    }

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>The first address where <paramref name="a"/> and <paramref name="b"/> differ outside the given areas (inclusive start, exclusive end).</summary>
    private static ulong? FirstDifferenceOutside(byte[] a, byte[] b, params (ulong Start, ulong End)[] allowed)
    {
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] == b[i])
            {
                continue;
            }

            ulong at = (ulong)i;
            if (!allowed.Any(r => at >= r.Start && at < r.End))
            {
                return at;
            }
        }

        return null;
    }
}
