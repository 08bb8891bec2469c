using System.Buffers.Binary;
using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Testing.Nvme;

namespace ManagedVmm.Devices.Nvme.Tests;

public sealed class IoCommandTests
{
    [TestCase(512, 0UL, TestName = "Prp1Only_OneBlock")]
    [TestCase(4096, 0UL, TestName = "Prp1Only_OnePage")]
    [TestCase(2048, 0x800UL, TestName = "Prp1Only_WithOffset")]
    [TestCase(8192, 0UL, TestName = "Prp2_SecondPage")]
    [TestCase(4096, 0x200UL, TestName = "Prp2_Prp1OffsetSpillsIntoSecondPage")]
    [TestCase(65536, 0UL, TestName = "PrpList_SixteenPages")]
    [TestCase(65536, 0x400UL, TestName = "PrpList_Prp1WithOffset")]
    [TestCase(512 * 1024, 0UL, TestName = "PrpList_Mdts")]
    public void WriteThenRead_RoundTripsThroughPrps(int length, ulong offset)
    {
        using var rig = NvmeRig.BroughtUp();
        var data = NvmeRig.Pattern(length, length);
        ulong src = rig.Alloc(length + 4096) + offset;
        rig.Poke(src, data);
        Expect.Status(rig.Driver.Write(1, 10, length / 512, src, 512), NvmeStatus.Success);
        ulong dst = rig.Alloc(length + 4096) + offset;
        Expect.Status(rig.Driver.Read(1, 10, length / 512, dst, 512), NvmeStatus.Success);
        Assert.That(rig.Peek(dst, length), Is.EqualTo(data));
        Assert.That(rig.Nvme.Statistics.BytesRead, Is.EqualTo(length));
    }

    [Test]
    public void ChainedPrpList_StartingNearThePageEnd_ReadsScatteredPages()
    {
        using var rig = NvmeRig.BroughtUp();
        var data = NvmeRig.Pattern(5 * 4096, 9);
        rig.WriteBlocks(0, data);

        // Data in five scattered pages; the list starts 16 bytes before its page end (two slots: one data entry and
        // a pointer), then chains to a second list page.
        var pages = Enumerable.Range(0, 5).Select(_ => { ulong p = rig.Alloc(4096); rig.Alloc(4096); return p; }).ToList();
        ulong list = rig.Driver.BuildPrpList(pages.Skip(1).ToList(), firstListOffset: 4096 - 16);
        var cqe = rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 40, pages[0], list));
        Expect.Status(cqe, NvmeStatus.Success);
        for (int i = 0; i < 5; i++)
        {
            Assert.That(rig.Peek(pages[i], 4096), Is.EqualTo(data.AsSpan(i * 4096, 4096).ToArray()), $"page {i}");
        }
    }

    [Test]
    public void ChainedPrpList_AcrossFullListPages_WithLargeMdts()
    {
        using var rig = NvmeRig.BroughtUp(o => { o.Mdts = 10; o.Size = 8UL << 20; });
        int length = 4 << 20; // 1024 pages: two full list pages chained, plus a third
        var data = NvmeRig.Pattern(length, 11);
        rig.WriteBlocks(0, data.AsSpan(0, 4096).ToArray());
        ulong src = rig.Alloc(length);
        rig.Poke(src, data);
        Expect.Status(rig.Driver.Write(1, 0, length / 512, src, 512), NvmeStatus.Success);
        ulong dst = rig.Alloc(length);
        Expect.Status(rig.Driver.Read(1, 0, length / 512, dst, 512), NvmeStatus.Success);
        Assert.That(rig.Peek(dst, length), Is.EqualTo(data));
    }

    [Test]
    public void MisalignedPrp2DataPointer_IsInvalidPrpOffset()
    {
        using var rig = NvmeRig.BroughtUp();
        ulong buf = rig.Alloc(8192);
        var cqe = rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 16, buf, buf + 4096 + 512));
        Expect.Status(cqe, NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr);
    }

    [Test]
    public void MisalignedPrpListEntry_IsInvalidPrpOffset_AndNothingIsWritten()
    {
        using var rig = NvmeRig.BroughtUp();
        ulong buf = rig.Alloc(4 * 4096);
        ulong list = rig.Driver.BuildPrpList([buf + 4096, buf + 8192 + 8, buf + 12288]);
        var cqe = rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 32, buf, list));
        Expect.Status(cqe, NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr);
    }

    [Test]
    public void Prp1NotDwordAligned_IsInvalidPrpOffset()
    {
        using var rig = NvmeRig.BroughtUp();
        ulong buf = rig.Alloc(4096);
        Expect.Status(rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, buf + 2, 0)), NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr);
    }

    [Test]
    public void TransferAboveMdts_IsInvalidField()
    {
        using var rig = NvmeRig.BroughtUp(o => o.Mdts = 1);
        ulong buf = rig.Alloc(16384);
        var (p1, p2) = rig.Driver.BuildPrps(buf, 12288);
        Expect.Status(rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 24, p1, p2)), NvmeStatus.InvalidField | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.Read(1, 0, 16, buf, 512), NvmeStatus.Success);
    }

    [TestCase(32768UL, 1, TestName = "Lba_StartAtNsze_OutOfRange")]
    [TestCase(32767UL, 2, TestName = "Lba_RunsPastTheEnd_OutOfRange")]
    [TestCase(ulong.MaxValue, 2, TestName = "Lba_Overflow_OutOfRange")]
    public void LbaRangeBeyondTheNamespace_IsLbaOutOfRange(ulong slba, int blocks)
    {
        using var rig = NvmeRig.BroughtUp(); // 16 MiB = 32768 blocks
        ulong buf = rig.Alloc(4096);
        Expect.Status(rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, slba, blocks, buf, 0)), NvmeStatus.LbaOutOfRange | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Write, slba, blocks, buf, 0)), NvmeStatus.LbaOutOfRange | NvmeStatus.Dnr);
    }

    [Test]
    public void LastBlock_IsInRange()
    {
        using var rig = NvmeRig.BroughtUp();
        rig.WriteBlocks(32767, NvmeRig.Pattern(512, 5));
        Assert.That(rig.ReadBlocks(32767, 1), Is.EqualTo(NvmeRig.Pattern(512, 5)));
    }

    [TestCase(0u)]
    [TestCase(2u)]
    [TestCase(0xFFFF_FFFFu)]
    public void ReadOfAnInvalidNamespace_IsInvalidNamespace(uint nsid)
    {
        using var rig = NvmeRig.BroughtUp();
        ulong buf = rig.Alloc(512);
        Expect.Status(rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, buf, 0, nsid)), NvmeStatus.InvalidNamespaceOrFormat | NvmeStatus.Dnr);
    }

    [TestCase(NvmOpcode.Compare)]
    [TestCase(NvmOpcode.WriteUncorrectable)]
    [TestCase((byte)0x0C)]
    [TestCase((byte)0x7F)]
    public void UnsupportedIoOpcode_IsInvalidOpcode(byte opcode)
    {
        using var rig = NvmeRig.BroughtUp();
        Expect.Status(rig.Driver.Execute(1, new NvmeCommand { Opcode = opcode, Nsid = 1 }), NvmeStatus.InvalidOpcode | NvmeStatus.Dnr);
    }

    [Test]
    public void IoWithSgl_IsInvalidField()
    {
        using var rig = NvmeRig.BroughtUp();
        var cmd = NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, rig.Alloc(512), 0);
        cmd.Flags = 0x40;
        Expect.Status(rig.Driver.Execute(1, cmd), NvmeStatus.InvalidField | NvmeStatus.Dnr);
    }

    [TestCase(1u)]
    [TestCase(0xFFFF_FFFFu)]
    public void Flush_OfTheNamespaceOrAll_Succeeds(uint nsid)
    {
        using var rig = NvmeRig.BroughtUp();
        Expect.Status(rig.Driver.Flush(1, nsid), NvmeStatus.Success);
        Assert.That(rig.Nvme.Statistics.Commands(NvmeCommandKind.Flush), Is.EqualTo(1));
    }

    [Test]
    public void WriteZeroes_ClearsTheRange_AndIsExemptFromMdts()
    {
        using var rig = NvmeRig.BroughtUp(o => o.Mdts = 1);
        rig.WriteBlocks(0, NvmeRig.Pattern(8192, 1));
        rig.WriteBlocks(16, NvmeRig.Pattern(8192, 2));
        var cqe = rig.Driver.Execute(1, new NvmeCommand { Opcode = NvmOpcode.WriteZeroes, Nsid = 1, Cdw10 = 4, Cdw12 = 20 - 1 });
        Expect.Status(cqe, NvmeStatus.Success);
        var all = rig.ReadBlocks(0, 16).Concat(rig.ReadBlocks(16, 16)).ToArray();
        Assert.That(all.AsSpan(0, 4 * 512).ToArray(), Is.EqualTo(NvmeRig.Pattern(8192, 1).AsSpan(0, 2048).ToArray()));
        Assert.That(all.AsSpan(4 * 512, 20 * 512).ToArray(), Is.All.Zero);
        Assert.That(all.AsSpan(24 * 512, 8 * 512).ToArray(), Is.EqualTo(NvmeRig.Pattern(8192, 2).AsSpan(4096, 4096).ToArray()));
        Expect.Status(rig.Driver.Execute(1, new NvmeCommand { Opcode = NvmOpcode.WriteZeroes, Nsid = 1, Cdw10 = 32760, Cdw12 = 9 }), NvmeStatus.LbaOutOfRange | NvmeStatus.Dnr);
    }

    [Test]
    public void DatasetManagementDeallocate_CompletesAndCountsInRangeRanges()
    {
        using var rig = NvmeRig.BroughtUp();
        ulong ranges = rig.Alloc(4096);
        var r = new byte[48];
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(20), 8);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(24), 1UL << 40); // out of range: skipped
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(36), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(40), 32767);
        rig.Poke(ranges, r);
        var cqe = rig.Driver.Execute(1, new NvmeCommand { Opcode = NvmOpcode.DatasetManagement, Nsid = 1, Prp1 = ranges, Cdw10 = 2, Cdw11 = 4 });
        Expect.Status(cqe, NvmeStatus.Success);
        Assert.That(rig.Nvme.DeallocatedRanges, Is.EqualTo(2));
    }

    [Test]
    public void ReadOnlyNamespace_RefusesWrites_ButReads()
    {
        using var rig = NvmeRig.BroughtUp(o => o.ReadOnly = true);
        ulong buf = rig.Alloc(512);
        Expect.Status(rig.Driver.Write(1, 0, 1, buf, 512), NvmeStatus.NamespaceWriteProtected | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.Execute(1, new NvmeCommand { Opcode = NvmOpcode.WriteZeroes, Nsid = 1 }), NvmeStatus.NamespaceWriteProtected | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.Read(1, 0, 1, buf, 512), NvmeStatus.Success);
        Assert.That(rig.Driver.Identify(IdentifyCns.Namespace, 1).Data[IdentifyOffsets.NsNsattr], Is.EqualTo(1));
    }

    [Test]
    public void FourKibNamespace_TransfersWholeBlocks()
    {
        using var rig = NvmeRig.BroughtUp(o => o.LbaSize = 4096);
        var data = NvmeRig.Pattern(3 * 4096, 4);
        rig.WriteBlocks(7, data);
        Assert.That(rig.ReadBlocks(7, 3), Is.EqualTo(data));
        Assert.That(rig.ReadBlocks(8, 1), Is.EqualTo(data.AsSpan(4096, 4096).ToArray()));
    }

    [Test]
    public void QueueWrapAround_FlipsThePhaseTag_AndSqHeadFollows()
    {
        using var rig = NvmeRig.BroughtUp(depth: 4);
        ulong buf = rig.Alloc(512);
        var phases = new List<bool>();
        var heads = new List<int>();
        for (int i = 0; i < 10; i++)
        {
            ushort cid = rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, (ulong)i, 1, buf, 0));
            Assert.That(rig.Driver.TryTakeCompletion(1, out var cqe), Is.True);
            Assert.That(cqe.Cid, Is.EqualTo(cid));
            rig.Driver.RingCq(1);
            phases.Add(cqe.Phase);
            heads.Add(cqe.SqHead);
        }

        Assert.That(phases, Is.EqualTo(new[] { true, true, true, true, false, false, false, false, true, true }));
        Assert.That(heads, Is.EqualTo(new[] { 1, 2, 3, 0, 1, 2, 3, 0, 1, 2 }));
    }

    [Test]
    public void FullCompletionQueue_HoldsCompletions_UntilTheHostFreesSlots()
    {
        using var rig = NvmeRig.BroughtUp(depth: 4);
        ulong buf = rig.Alloc(512);
        var cids = new List<ushort>();
        for (int i = 0; i < 3; i++)
        {
            cids.Add(rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, buf, 0), ring: false));
        }

        rig.Driver.RingSq(1);

        // CQ of 4 holds 3; the next completion must wait.
        cids.Add(rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, buf, 0)));
        Assert.That(rig.Nvme.Snapshot().CompletionQueues.Single(q => q.Id == 1).Waiting, Is.EqualTo(1));
        for (int i = 0; i < 3; i++)
        {
            Assert.That(rig.Driver.TryTakeCompletion(1, out var c), Is.True);
            Assert.That(c.Cid, Is.EqualTo(cids[i]));
        }

        Assert.That(rig.Driver.TryTakeCompletion(1, out _), Is.False, "the fourth waits for a CQ head doorbell");
        rig.Driver.RingCq(1);
        Assert.That(rig.Driver.TryTakeCompletion(1, out var last), Is.True);
        Assert.That(last.Cid, Is.EqualTo(cids[3]));
    }

    [Test]
    public void Completions_RaiseTheCqsMsixVector_AndIenZeroRaisesNothing()
    {
        using var rig = NvmeRig.BroughtUp();
        rig.Bed.Msi.Clear();
        rig.ReadBlocks(0, 1);
        Assert.That(rig.Bed.Msi.Count, Is.EqualTo(1));
        Assert.That(rig.Bed.Msi.Messages[0].Message.Data, Is.EqualTo(NvmeTestDriver.MsiDataBase + 1));
        Assert.That(rig.Bed.Msi.Messages[0].Requester, Is.EqualTo(rig.Driver.Bdf));

        rig.Driver.CreateIoCq(2, 16, vector: 2, interrupts: false);
        rig.Driver.CreateIoSq(2, 16, 2);
        rig.Bed.Msi.Clear();
        ulong buf = rig.Alloc(512);
        Expect.Status(rig.Driver.Read(2, 0, 1, buf, 512), NvmeStatus.Success);
        Assert.That(rig.Bed.Msi.Count, Is.Zero, "polled queue");
    }

    [Test]
    public void MaskedVector_LeavesThePendingBit_AndDeliversOnUnmask()
    {
        using var rig = NvmeRig.BroughtUp();
        ulong entry1 = rig.Driver.Bar0 + rig.Nvme.Bar0Layout.MsixTableOffset + 16;
        rig.Bed.WriteL(entry1 + 12, 1);
        rig.Bed.Msi.Clear();
        rig.ReadBlocks(0, 1);
        Assert.That(rig.Bed.Msi.Count, Is.Zero);
        Assert.That(rig.Bed.ReadL(rig.Driver.Bar0 + rig.Nvme.Bar0Layout.MsixPbaOffset) & 2, Is.EqualTo(2u));
        rig.Bed.WriteL(entry1 + 12, 0);
        Assert.That(rig.Bed.Msi.Count, Is.EqualTo(1));
    }

    [Test]
    public void InterruptMaskRegisters_SetAndClear()
    {
        using var rig = NvmeRig.Create();
        rig.Driver.WriteReg32(NvmeReg.Intms, 0x5);
        Assert.That(rig.Driver.ReadReg32(NvmeReg.Intms), Is.EqualTo(0x5u));
        rig.Driver.WriteReg32(NvmeReg.Intmc, 0x1);
        Assert.That(rig.Driver.ReadReg32(NvmeReg.Intmc), Is.EqualTo(0x4u));
    }

    [Test]
    public void BadDoorbellWrites_AreIgnoredAndLogged_NeverThrow()
    {
        using var rig = NvmeRig.BroughtUp(depth: 8);
        var d = rig.Driver;
        var before = rig.Nvme.Snapshot();
        d.Q.WriteL(d.SqDoorbell(1), 8);            // tail == size
        d.Q.WriteL(d.SqDoorbell(1), 0x1_0001);     // reserved upper bits
        d.Q.WriteL(d.SqDoorbell(5), 1);            // no such SQ
        d.Q.WriteL(d.CqDoorbell(1), 3);            // head past what was posted
        d.Q.WriteL(d.CqDoorbell(9), 0);            // no such CQ
        d.Q.WriteW(d.SqDoorbell(1), 1);            // 16-bit doorbell write
        d.Q.WriteL(d.SqDoorbell(64) + 4, 0);       // the last doorbell exists in the BAR but CQ 64 does not
        Assert.That(rig.Bed.ReadL(d.SqDoorbell(0)), Is.Zero, "doorbells read zero");
        var after = rig.Nvme.Snapshot();
        Assert.That(after.SubmissionQueues, Is.EqualTo(before.SubmissionQueues));
        Assert.That(after.CompletionQueues, Is.EqualTo(before.CompletionQueues));
        Assert.That(rig.Bed.GuestErrors.Count, Is.GreaterThanOrEqualTo(7));
        Assert.That(rig.ReadBlocks(0, 1), Has.Length.EqualTo(512), "still works");
    }

    [Test]
    public void DoorbellBeforeEnable_IsIgnored()
    {
        using var rig = NvmeRig.Create();
        rig.Bed.WriteL(rig.Driver.SqDoorbell(0), 1);
        Assert.That(rig.Nvme.Statistics.CommandsTotal, Is.Zero);
        Assert.That(rig.Bed.GuestErrors.Contains("not ready"), Is.True);
    }

    [Test]
    public void RandomSubmissionQueueEntries_NeverThrow_AndEveryCommandCompletes()
    {
        using var rig = NvmeRig.BroughtUp(depth: 256);
        var rng = new Random(1234);
        var raw = new byte[64];
        int completed = 0;
        for (int i = 0; i < 2000; i++)
        {
            rng.NextBytes(raw);
            var cmd = System.Runtime.InteropServices.MemoryMarshal.Read<NvmeCommand>(raw);
            int qid = rng.Next(4) == 0 ? 0 : 1;
            if (qid == 0 && cmd.Opcode is AdminOpcode.AsyncEventRequest or AdminOpcode.DeleteIoSq or AdminOpcode.DeleteIoCq or AdminOpcode.CreateIoSq or AdminOpcode.CreateIoCq)
            {
                cmd.Opcode = AdminOpcode.GetFeatures;
            }

            ushort cid = rig.Driver.Submit(qid, cmd);
            Assert.That(rig.Driver.TryGetCompletion(qid, cid, out _), Is.True, $"command {i} opc 0x{cmd.Opcode:x2} on queue {qid} completed");
            completed++;
        }

        Assert.That(completed, Is.EqualTo(2000));
        Assert.That(rig.Nvme.IsFatal, Is.False);
    }
}
