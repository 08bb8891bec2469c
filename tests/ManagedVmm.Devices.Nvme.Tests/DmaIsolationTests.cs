using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing.Nvme;

namespace ManagedVmm.Devices.Nvme.Tests;

/// <summary>
/// Every DMA of the controller goes through its requester's DMA view: with bus mastering off nothing moves;
/// behind an IOMMU only mapped IOVAs reach memory, faults on data or PRP lists fail the command with Data
/// Transfer Error and faults on queue entries make the controller fatal.
/// </summary>
public sealed class DmaIsolationTests
{
    /// <summary>IOVAs are guest-physical addresses moved up by this much, so an identity access can never succeed by accident.</summary>
    private const ulong IovaOffset = 0x40_0000_0000;

    private static ulong Iova(ulong gpa) => gpa + IovaOffset;

    /// <summary>A rig whose IOMMU maps the allocator's whole arena before bring-up, then is narrowed by the test.</summary>
    private static (NvmeRig Rig, FakeIommu Iommu) IommuRig(Action<NvmeOptions>? configure = null)
    {
        var iommu = new FakeIommu();
        iommu.Map(Iova(0x10_0000), 0x10_0000, 0x200_0000); // 1 MiB .. 33 MiB: queues and early buffers
        var rig = NvmeRig.BroughtUp(configure, translators: [iommu], deviceAddress: Iova);
        return (rig, iommu);
    }

    [Test]
    public void IoThroughMappings_Works_AndEveryAccessIsTranslated()
    {
        var (rig, iommu) = IommuRig();
        using var _ = rig;
        var data = NvmeRig.Pattern(16384, 1);
        rig.WriteBlocks(0, data);
        Assert.That(rig.ReadBlocks(0, 32), Is.EqualTo(data));
        Assert.That(iommu.Faults, Is.Empty);
        Assert.That(iommu.Translations, Is.GreaterThan(10));
    }

    [Test]
    public void ReadIntoAnUnmappedIova_IsDataTransferError_FaultRecorded_NoByteOutsideTheMappingsChanged()
    {
        var (rig, iommu) = IommuRig();
        using var _ = rig;
        rig.WriteBlocks(0, NvmeRig.Pattern(4096, 2));

        // A buffer outside the mapped window: RAM exists there, but the IOMMU has no mapping for its IOVA.
        ulong victim = 0x300_0000;
        rig.Poke(victim, Enumerable.Repeat((byte)0x5A, 8192).ToArray());
        var before = rig.Peek(0, 64 << 20);
        var cqe = rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 8, Iova(victim), 0));
        Expect.Status(cqe, NvmeStatus.DataTransferError);
        Assert.That(iommu.Faults.Any(f => f.Iova == Iova(victim) && f.Access == DmaAccess.Write), Is.True);
        Assert.That(rig.Nvme.Statistics.DataDmaFaults, Is.EqualTo(1));
        Assert.That(rig.Nvme.IsFatal, Is.False);

        var after = rig.Peek(0, 64 << 20);
        var mapped = iommu.MappedGpaRanges().ToList();
        for (int i = 0; i < after.Length; i++)
        {
            if (after[i] != before[i] && !mapped.Any(m => (ulong)i >= m.Gpa && (ulong)i < m.Gpa + m.Length))
            {
                Assert.Fail($"byte at GPA 0x{i:x} outside every mapping changed");
            }
        }

        Assert.That(rig.Peek(victim, 8192), Is.All.EqualTo(0x5A));
    }

    [Test]
    public void UnmapThenIo_FailsWithDataTransferError_OtherMappingsKeepWorking()
    {
        var (rig, iommu) = IommuRig();
        using var _ = rig;
        ulong buf = 0x280_0000;
        iommu.Map(Iova(buf), buf, 0x1000);
        rig.Poke(buf, NvmeRig.Pattern(4096, 3));
        Expect.Status(rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Write, 0, 8, Iova(buf), 0)), NvmeStatus.Success);
        iommu.Unmap(Iova(buf));
        Expect.Status(rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Write, 0, 8, Iova(buf), 0)), NvmeStatus.DataTransferError);
        Assert.That(rig.ReadBlocks(0, 8), Is.EqualTo(NvmeRig.Pattern(4096, 3)), "the failed write changed nothing");
    }

    [Test]
    public void WriteFromAReadOnlyMapping_Works_ReadIntoIt_Faults()
    {
        var (rig, iommu) = IommuRig();
        using var _ = rig;
        ulong buf = 0x280_0000;
        iommu.Map(Iova(buf), buf, 0x1000, DmaAccess.Read);
        Expect.Status(rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Write, 0, 8, Iova(buf), 0)), NvmeStatus.Success);
        Expect.Status(rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 8, Iova(buf), 0)), NvmeStatus.DataTransferError);
    }

    [Test]
    public void UnmappedPrpList_IsDataTransferError()
    {
        var (rig, iommu) = IommuRig();
        using var _ = rig;
        ulong buf = rig.Alloc(4 * 4096);
        var cqe = rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 32, Iova(buf), Iova(0x300_0000)));
        Expect.Status(cqe, NvmeStatus.DataTransferError);
        Assert.That(iommu.Faults.Any(f => f.Iova == Iova(0x300_0000) && f.Access == DmaAccess.Read), Is.True);
    }

    [Test]
    public void UnmappedSubmissionQueue_MakesTheControllerFatal()
    {
        var (rig, iommu) = IommuRig();
        using var _ = rig;
        ulong cq = rig.Alloc(4096);
        Expect.Status(rig.Driver.CreateIoCq(2, 16, 2, baseGpa: cq), NvmeStatus.Success);
        Expect.Status(rig.Driver.CreateIoSq(2, 16, 2, baseGpa: 0x300_0000), NvmeStatus.Success);
        rig.Bed.WriteL(rig.Driver.SqDoorbell(2), 1);
        Assert.That(rig.Nvme.IsFatal, Is.True);
        Assert.That(rig.Driver.CstsValue & Csts.Cfs, Is.Not.Zero);
        Assert.That(rig.Nvme.Statistics.FatalDmaFaults, Is.EqualTo(1));
        Assert.That(iommu.Faults, Has.Count.EqualTo(1));
    }

    [Test]
    public void UnmappedCompletionQueue_MakesTheControllerFatal()
    {
        var (rig, _) = IommuRig();
        using var __ = rig;
        Expect.Status(rig.Driver.CreateIoCq(2, 16, 2, baseGpa: 0x300_0000), NvmeStatus.Success);
        Expect.Status(rig.Driver.CreateIoSq(2, 16, 2), NvmeStatus.Success);
        ulong buf = rig.Alloc(512);
        rig.Driver.Submit(2, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, Iova(buf), 0));
        Assert.That(rig.Nvme.IsFatal, Is.True);
        Assert.That(rig.Peek(0x300_0000, 256), Is.All.Zero);

        // Linux resets a fatal controller; it comes back.
        rig.Driver.Disable();
        rig.Driver.BringUp();
        Assert.That(rig.Nvme.IsFatal, Is.False);
    }

    [Test]
    public void BusMasteringOff_NoDmaAtAll()
    {
        using var rig = NvmeRig.BroughtUp();
        rig.WriteBlocks(0, NvmeRig.Pattern(512, 4));
        ulong buf = rig.Alloc(512);
        rig.Poke(buf, Enumerable.Repeat((byte)0xC3, 512).ToArray());
        var bdf = rig.Driver.Bdf;
        rig.Bed.ConfigWrite16(bdf, PciConfig.Command, (ushort)(rig.Bed.ConfigRead16(bdf, PciConfig.Command) & ~(ushort)PciCommand.BusMaster));
        rig.Bed.Msi.Clear();
        rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, buf, 0));
        Assert.That(rig.Peek(buf, 512), Is.All.EqualTo(0xC3));
        Assert.That(rig.Driver.TryTakeCompletion(1, out _), Is.False);
        Assert.That(rig.Bed.Msi.Count, Is.Zero);
        Assert.That(rig.Nvme.IsFatal, Is.True, "the SQ entry could not be fetched");
    }
}
