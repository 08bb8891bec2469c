using System.Buffers.Binary;
using System.Text;
using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Testing.Nvme;

namespace ManagedVmm.Devices.Nvme.Tests;

public sealed class AdminCommandTests
{
    [Test]
    public void IdentifyController_HasTheFieldsLinuxReads()
    {
        using var rig = NvmeRig.Create(o => { o.Serial = "SN-42"; o.Model = "Test Model"; o.Mdts = 5; });
        rig.Driver.EnableController();
        var (cqe, d) = rig.Driver.Identify(IdentifyCns.Controller);
        Expect.Status(cqe, NvmeStatus.Success);
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(d), Is.EqualTo(NvmeController.VendorId));
        Assert.That(Encoding.ASCII.GetString(d, IdentifyOffsets.CtrlSn, 20), Is.EqualTo("SN-42".PadRight(20)));
        Assert.That(Encoding.ASCII.GetString(d, IdentifyOffsets.CtrlMn, 40).TrimEnd(), Is.EqualTo("Test Model"));
        Assert.That(d[IdentifyOffsets.CtrlMdts], Is.EqualTo(5));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(IdentifyOffsets.CtrlVer)), Is.EqualTo(0x0001_0400u));
        Assert.That(d[IdentifyOffsets.CtrlSqes], Is.EqualTo(0x66));
        Assert.That(d[IdentifyOffsets.CtrlCqes], Is.EqualTo(0x44));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(IdentifyOffsets.CtrlNn)), Is.EqualTo(1u));
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(IdentifyOffsets.CtrlOncs)), Is.EqualTo(IdentifyOffsets.OncsDsm | IdentifyOffsets.OncsWriteZeroes));
        Assert.That(d[IdentifyOffsets.CtrlVwc], Is.EqualTo(0x07));
        Assert.That(d[IdentifyOffsets.CtrlAerl], Is.EqualTo(NvmeController.AerLimit - 1));
        Assert.That(d[IdentifyOffsets.CtrlCntrltype], Is.EqualTo(1));
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(IdentifyOffsets.CtrlOacs)), Is.Zero, "no shadow doorbells, no NS management");
    }

    [TestCase(512, 9)]
    [TestCase(4096, 12)]
    public void IdentifyNamespace_DescribesSizeAndLbaFormat(int lbaSize, int lbads)
    {
        using var rig = NvmeRig.Create(o => { o.LbaSize = lbaSize; o.Size = 8UL << 20; });
        rig.Driver.EnableController();
        var (cqe, d) = rig.Driver.Identify(IdentifyCns.Namespace, 1);
        Expect.Status(cqe, NvmeStatus.Success);
        ulong blocks = (8UL << 20) / (ulong)lbaSize;
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(IdentifyOffsets.NsNsze)), Is.EqualTo(blocks));
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(IdentifyOffsets.NsNcap)), Is.EqualTo(blocks));
        int flbas = d[IdentifyOffsets.NsFlbas] & 0xF;
        Assert.That(d[IdentifyOffsets.NsLbaf0 + (4 * flbas) + 2], Is.EqualTo(lbads));
    }

    [Test]
    public void IdentifyInactiveNamespace_IsZeroFilled_AndNsidZeroIsInvalidNamespace()
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController();
        var (cqe, d) = rig.Driver.Identify(IdentifyCns.Namespace, 7);
        Expect.Status(cqe, NvmeStatus.Success);
        Assert.That(d, Is.All.Zero);
        Expect.Status(rig.Driver.Identify(IdentifyCns.Namespace, 0).Cqe, NvmeStatus.InvalidNamespaceOrFormat | NvmeStatus.Dnr);
    }

    [Test]
    public void IdentifyActiveNamespaceList_ListsNsidsAboveTheGivenOne()
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController();
        var (cqe, d) = rig.Driver.Identify(IdentifyCns.ActiveNamespaceList, 0);
        Expect.Status(cqe, NvmeStatus.Success);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(d), Is.EqualTo(1u));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(4)), Is.Zero);
        Assert.That(rig.Driver.Identify(IdentifyCns.ActiveNamespaceList, 1).Data, Is.All.Zero);
        Expect.Status(rig.Driver.Identify(IdentifyCns.ActiveNamespaceList, 0xFFFF_FFFE).Cqe, NvmeStatus.InvalidNamespaceOrFormat | NvmeStatus.Dnr);
    }

    [Test]
    public void IdentifyNamespaceDescriptors_GiveAnNguid()
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController();
        var (cqe, d) = rig.Driver.Identify(IdentifyCns.NamespaceDescriptorList, 1);
        Expect.Status(cqe, NvmeStatus.Success);
        Assert.That(d[0], Is.EqualTo(IdentifyCns.NidtNguid));
        Assert.That(d[1], Is.EqualTo(16));
        Assert.That(d.AsSpan(4, 16).ToArray(), Is.Not.All.Zero);
    }

    [TestCase((byte)0x04)]
    [TestCase((byte)0x05)]
    [TestCase((byte)0x06)]
    [TestCase((byte)0x1C)]
    [TestCase((byte)0xFF)]
    public void IdentifyUnsupportedCns_CompletesWithInvalidFieldAndDnr(byte cns)
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController();
        Expect.Status(rig.Driver.Identify(cns, 0).Cqe, NvmeStatus.InvalidField | NvmeStatus.Dnr);
    }

    [TestCase(AdminOpcode.DoorbellBufferConfig)]
    [TestCase(AdminOpcode.FormatNvm)]
    [TestCase(AdminOpcode.KeepAlive)]
    [TestCase((byte)0x03)]
    [TestCase((byte)0xC0)]
    public void UnsupportedAdminOpcode_CompletesWithInvalidOpcodeAndDnr(byte opcode)
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController();
        Expect.Status(rig.Driver.Admin(new NvmeCommand { Opcode = opcode }), NvmeStatus.InvalidOpcode | NvmeStatus.Dnr);
    }

    [TestCase((byte)0x40)]
    [TestCase((byte)0x01)]
    public void AdminCommandWithSglOrFuse_IsInvalidField(byte flags)
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController();
        ulong buf = rig.Alloc(4096);
        Expect.Status(
            rig.Driver.Admin(new NvmeCommand { Opcode = AdminOpcode.Identify, Flags = flags, Prp1 = buf, Cdw10 = IdentifyCns.Controller }),
            NvmeStatus.InvalidField | NvmeStatus.Dnr);
    }

    private static IEnumerable<TestCaseData> CreateCqCases()
    {
        // qid, qsize(0-based), prp1 offset, vector, pc, expected
        yield return new TestCaseData(0, 63, 0UL, 0, true, NvmeStatus.InvalidQueueIdentifier).SetName("CreateCq_Qid0_InvalidQid");
        yield return new TestCaseData(65, 63, 0UL, 0, true, NvmeStatus.InvalidQueueIdentifier).SetName("CreateCq_QidAboveMax_InvalidQid");
        yield return new TestCaseData(1, 63, 0UL, 0, true, NvmeStatus.InvalidQueueIdentifier).SetName("CreateCq_QidInUse_InvalidQid");
        yield return new TestCaseData(2, 0, 0UL, 0, true, NvmeStatus.InvalidQueueSize).SetName("CreateCq_Size1_InvalidQueueSize");
        yield return new TestCaseData(2, 2048, 0UL, 0, true, NvmeStatus.InvalidQueueSize).SetName("CreateCq_SizeAboveMqes_InvalidQueueSize");
        yield return new TestCaseData(2, 63, 0x200UL, 0, true, NvmeStatus.InvalidPrpOffset).SetName("CreateCq_MisalignedBase_InvalidPrpOffset");
        yield return new TestCaseData(2, 63, 0UL, 65, true, NvmeStatus.InvalidInterruptVector).SetName("CreateCq_VectorBeyondTable_InvalidVector");
        yield return new TestCaseData(2, 63, 0UL, 2, false, NvmeStatus.InvalidField).SetName("CreateCq_NotContiguous_InvalidField");
    }

    [TestCaseSource(nameof(CreateCqCases))]
    public void CreateIoCq_EverySpecCheck(int qid, int qsize, ulong offset, int vector, bool pc, ushort expected)
    {
        using var rig = NvmeRig.BroughtUp();
        ulong cq = rig.Alloc(64 * 1024);
        var cqe = rig.Driver.Admin(new NvmeCommand
        {
            Opcode = AdminOpcode.CreateIoCq,
            Prp1 = cq + offset,
            Cdw10 = (uint)qid | ((uint)qsize << 16),
            Cdw11 = (pc ? 1u : 0) | 2u | ((uint)vector << 16),
        });
        Expect.Status(cqe, (ushort)(expected | NvmeStatus.Dnr));
    }

    [Test]
    public void CreateIoCq_WithVectorButMsixDisabled_InvalidInterruptVector()
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController();
        Expect.Status(rig.Driver.CreateIoCq(1, 16, vector: 1), NvmeStatus.InvalidInterruptVector | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.CreateIoCq(1, 16, vector: 0), NvmeStatus.Success);
    }

    [Test]
    public void CreateIoQueues_WithIoEntrySizesNotSetInCc_InvalidQueueSize()
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController(cc: Cc.En);
        Expect.Status(rig.Driver.CreateIoCq(1, 16, vector: 0), NvmeStatus.InvalidQueueSize | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.CreateIoSq(1, 16, 1), NvmeStatus.InvalidQueueSize | NvmeStatus.Dnr);
    }

    [TestCase(0, 1, NvmeStatus.CompletionQueueInvalid, TestName = "CreateSq_Cq0_CompletionQueueInvalid")]
    [TestCase(2, 5, NvmeStatus.CompletionQueueInvalid, TestName = "CreateSq_MissingCq_CompletionQueueInvalid")]
    [TestCase(1, 0, NvmeStatus.InvalidQueueIdentifier, TestName = "CreateSq_Qid0_InvalidQid")]
    [TestCase(1, 1, NvmeStatus.InvalidQueueIdentifier, TestName = "CreateSq_QidInUse_InvalidQid")]
    [TestCase(1, 99, NvmeStatus.InvalidQueueIdentifier, TestName = "CreateSq_QidAboveMax_InvalidQid")]
    public void CreateIoSq_EverySpecCheck(int cqid, int qid, ushort expected)
    {
        using var rig = NvmeRig.BroughtUp();
        ulong sq = rig.Alloc(4096);
        var cqe = rig.Driver.Admin(new NvmeCommand { Opcode = AdminOpcode.CreateIoSq, Prp1 = sq, Cdw10 = (uint)qid | (15u << 16), Cdw11 = 1u | ((uint)cqid << 16) });
        Expect.Status(cqe, (ushort)(expected | NvmeStatus.Dnr));
    }

    [Test]
    public void CreateIoSq_MisalignedOrNonContiguousOrBadSize_AreRefused()
    {
        using var rig = NvmeRig.BroughtUp();
        Expect.Status(rig.Driver.CreateIoCq(2, 16, 2), NvmeStatus.Success);
        ulong sq = rig.Alloc(8192);
        NvmeCompletion Create(ulong prp, uint qsize, uint pc) => rig.Driver.Admin(new NvmeCommand { Opcode = AdminOpcode.CreateIoSq, Prp1 = prp, Cdw10 = 2u | (qsize << 16), Cdw11 = pc | (2u << 16) });
        Expect.Status(Create(sq + 8, 15, 1), NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr);
        Expect.Status(Create(sq, 15, 0), NvmeStatus.InvalidField | NvmeStatus.Dnr);
        Expect.Status(Create(sq, 0, 1), NvmeStatus.InvalidQueueSize | NvmeStatus.Dnr);
        Expect.Status(Create(sq, 15, 1), NvmeStatus.Success);
    }

    [Test]
    public void DeleteQueues_InvalidIdsAndCqWithSq_AreRefused_ThenOrderlyDeletionWorks()
    {
        using var rig = NvmeRig.BroughtUp();
        Expect.Status(rig.Driver.DeleteIoSq(0), NvmeStatus.InvalidQueueIdentifier | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.DeleteIoSq(9), NvmeStatus.InvalidQueueIdentifier | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.DeleteIoCq(0), NvmeStatus.InvalidQueueIdentifier | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.DeleteIoCq(1), NvmeStatus.InvalidQueueDeletion | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.DeleteIoSq(1), NvmeStatus.Success);
        Expect.Status(rig.Driver.DeleteIoCq(1), NvmeStatus.Success);
        Assert.That(rig.Nvme.Snapshot().SubmissionQueues.Select(q => q.Id), Is.EqualTo(new[] { 0 }));
    }

    [Test]
    public void DeleteSq_WithCommandsInFlight_AbortsThemWithSqDeletionStatus()
    {
        using var rig = NvmeRig.BroughtUp(o => o.Latency = new NvmeLatencyOptions { AdminNs = 0 });
        ulong buf = rig.Alloc(4096);
        ushort a = rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, buf, 0));
        ushort b = rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 1, 1, buf + 512, 0));
        var del = rig.Driver.DeleteIoSq(1);
        Expect.Status(del, NvmeStatus.Success);
        Assert.That(rig.Driver.TryGetCompletion(1, a, out var ca) && rig.Driver.TryGetCompletion(1, b, out var cb), Is.True);
        Expect.Status(ca, NvmeStatus.AbortedSqDeletion);
        Assert.That(rig.Nvme.Statistics.Outstanding, Is.Zero);
    }

    [Test]
    public void NumberOfQueues_GrantsTheConfiguredPairs_AndIsRefusedOnceIoQueuesExist()
    {
        using var rig = NvmeRig.Create(o => o.MaxIoQueuePairs = 8);
        rig.Driver.EnableController();
        var cqe = rig.Driver.SetNumberOfQueues(4);
        Expect.Status(cqe, NvmeStatus.Success);
        Assert.That(cqe.Dw0, Is.EqualTo(7u | (7u << 16)));
        Assert.That(rig.Driver.GetFeatures(FeatureId.NumberOfQueues).Dw0, Is.EqualTo(7u | (7u << 16)));
        Expect.Status(rig.Driver.SetFeatures(FeatureId.NumberOfQueues, 0xFFFF), NvmeStatus.InvalidField | NvmeStatus.Dnr);
        rig.Driver.EnableMsix();
        rig.Driver.CreateIoQueuePair(1, 16);
        Expect.Status(rig.Driver.SetNumberOfQueues(2), NvmeStatus.CommandSequenceError | NvmeStatus.Dnr);
    }

    [Test]
    public void Features_StoreAndReturnValues_RefuseSaveAndUnknownIds()
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController();
        Assert.That(rig.Driver.GetFeatures(FeatureId.VolatileWriteCache).Dw0, Is.EqualTo(1u));
        Expect.Status(rig.Driver.SetFeatures(FeatureId.VolatileWriteCache, 0), NvmeStatus.Success);
        Assert.That(rig.Driver.GetFeatures(FeatureId.VolatileWriteCache).Dw0, Is.Zero);
        Assert.That(rig.Driver.GetFeatures(FeatureId.VolatileWriteCache, sel: 1).Dw0, Is.EqualTo(1u), "default");
        Assert.That(rig.Driver.GetFeatures(FeatureId.TemperatureThreshold).Dw0, Is.EqualTo(343u));
        Expect.Status(rig.Driver.SetFeatures(FeatureId.AsyncEventConfiguration, 0x100), NvmeStatus.Success);
        Assert.That(rig.Driver.GetFeatures(FeatureId.AsyncEventConfiguration).Dw0, Is.EqualTo(0x100u));
        Expect.Status(rig.Driver.Admin(new NvmeCommand { Opcode = AdminOpcode.SetFeatures, Cdw10 = FeatureId.ErrorRecovery | FeatureId.SaveBit }), NvmeStatus.FeatureNotSaveable | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.GetFeatures(0x0C), NvmeStatus.InvalidField | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.SetFeatures(0x0E, 0), NvmeStatus.InvalidField | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.GetFeatures(FeatureId.Arbitration, sel: 4), NvmeStatus.InvalidField | NvmeStatus.Dnr);
    }

    [Test]
    public void SmartLog_CountsCommandsAndDataUnits()
    {
        using var rig = NvmeRig.BroughtUp();
        for (int i = 0; i < 3; i++)
        {
            rig.ReadBlocks((ulong)i * 8, 8);
        }

        rig.WriteBlocks(100, NvmeRig.Pattern(4096, 3));
        var (cqe, d) = rig.Driver.GetLogPage(LogPageId.SmartHealth, LogPageId.SmartSize);
        Expect.Status(cqe, NvmeStatus.Success);
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(1)), Is.EqualTo(310), "composite temperature K");
        Assert.That(d[3], Is.EqualTo(100));
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(32)), Is.EqualTo(1UL), "data units read (24 × 512 B, rounded up)");
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(64)), Is.EqualTo(3UL), "host read commands");
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(80)), Is.EqualTo(1UL), "host write commands");
    }

    [Test]
    public void ErrorLog_RecordsFailedCommandsNewestFirst()
    {
        using var rig = NvmeRig.BroughtUp();
        ulong buf = rig.Alloc(512);
        var bad = rig.Driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 1UL << 40, 1, buf, 0));
        Expect.Status(bad, NvmeStatus.LbaOutOfRange | NvmeStatus.Dnr);
        var (cqe, d) = rig.Driver.GetLogPage(LogPageId.ErrorInformation, 128);
        Expect.Status(cqe, NvmeStatus.Success);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(d), Is.EqualTo(1UL), "error count");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(8)), Is.EqualTo(1), "SQID");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(10)), Is.EqualTo(bad.Cid));
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(12)) >> 1, Is.EqualTo(NvmeStatus.LbaOutOfRange | NvmeStatus.Dnr));
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(16)), Is.EqualTo(1UL << 40), "LBA");
    }

    [Test]
    public void GetLogPage_UnknownLidOrBadOffset_IsRefused_AndAnOffsetReadsTheTail()
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController();
        Expect.Status(rig.Driver.GetLogPage(0x05, 4096).Cqe, NvmeStatus.InvalidLogPage | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.GetLogPage(0xC0, 512).Cqe, NvmeStatus.InvalidLogPage | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.GetLogPage(LogPageId.SmartHealth, 16, offset: 2).Cqe, NvmeStatus.InvalidField | NvmeStatus.Dnr);
        Expect.Status(rig.Driver.GetLogPage(LogPageId.SmartHealth, 16, offset: 1024).Cqe, NvmeStatus.InvalidField | NvmeStatus.Dnr);
        var (cqe, d) = rig.Driver.GetLogPage(LogPageId.FirmwareSlot, 8, offset: 8);
        Expect.Status(cqe, NvmeStatus.Success);
        Assert.That(Encoding.ASCII.GetString(d, 0, 3), Is.EqualTo("1.0"));
    }

    [Test]
    public void AsyncEventRequests_AreHeld_AndOneTooManyExceedsTheLimit()
    {
        using var rig = NvmeRig.Create();
        rig.Driver.EnableController();
        var cids = new List<ushort>();
        for (int i = 0; i < NvmeController.AerLimit; i++)
        {
            cids.Add(rig.Driver.Submit(0, new NvmeCommand { Opcode = AdminOpcode.AsyncEventRequest }));
        }

        rig.Bed.AdvanceClock(1_000_000);
        Assert.That(cids.Any(c => rig.Driver.TryGetCompletion(0, c, out _)), Is.False, "held");
        Expect.Status(rig.Driver.Admin(new NvmeCommand { Opcode = AdminOpcode.AsyncEventRequest }), NvmeStatus.AsyncEventRequestLimitExceeded | NvmeStatus.Dnr);
        Assert.That(rig.Nvme.Snapshot().HeldAsyncEventRequests, Is.EqualTo(NvmeController.AerLimit));
        Assert.That(rig.Nvme.Statistics.Outstanding, Is.Zero, "held AERs take no command slot");
    }

    [Test]
    public void InvalidDoorbellWrite_CompletesAHeldAer_WithAnErrorEvent_MaskedUntilTheLogIsRead()
    {
        using var rig = NvmeRig.BroughtUp();
        ushort aer1 = rig.Driver.Submit(0, new NvmeCommand { Opcode = AdminOpcode.AsyncEventRequest });
        ushort aer2 = rig.Driver.Submit(0, new NvmeCommand { Opcode = AdminOpcode.AsyncEventRequest });
        rig.Bed.WriteL(rig.Driver.SqDoorbell(7), 1); // no SQ 7
        Assert.That(rig.Driver.TryGetCompletion(0, aer2, out var ev) || rig.Driver.TryGetCompletion(0, aer1, out ev), Is.True);
        Expect.Status(ev, NvmeStatus.Success);
        Assert.That(ev.Dw0 & 0x7, Is.EqualTo((uint)AsyncEvent.TypeError));
        Assert.That((ev.Dw0 >> 8) & 0xFF, Is.EqualTo((uint)AsyncEvent.InfoInvalidDoorbellRegister));
        Assert.That((ev.Dw0 >> 16) & 0xFF, Is.EqualTo((uint)LogPageId.ErrorInformation));

        rig.Bed.WriteL(rig.Driver.SqDoorbell(1), 5000); // value beyond the queue: masked until the log is read
        Assert.That(rig.Nvme.Snapshot().HeldAsyncEventRequests, Is.EqualTo(1));
        rig.Driver.GetLogPage(LogPageId.ErrorInformation, 64);
        rig.Bed.WriteL(rig.Driver.SqDoorbell(1), 5000);
        Assert.That(rig.Nvme.Snapshot().HeldAsyncEventRequests, Is.Zero);
    }

    [Test]
    public void Abort_OfACommandInFlight_CompletesItWithAbortRequested()
    {
        using var rig = NvmeRig.BroughtUp(o => o.Latency = new NvmeLatencyOptions { AdminNs = 0, ReadNs = 1_000_000 });
        ulong buf = rig.Alloc(512);
        ushort cid = rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, buf, 0));
        var abort = rig.Driver.Admin(new NvmeCommand { Opcode = AdminOpcode.Abort, Cdw10 = 1u | ((uint)cid << 16) });
        Expect.Status(abort, NvmeStatus.Success);
        Assert.That(abort.Dw0 & 1, Is.Zero, "aborted");
        Assert.That(rig.Driver.TryGetCompletion(1, cid, out var cqe), Is.True);
        Expect.Status(cqe, NvmeStatus.AbortRequested);

        var none = rig.Driver.Admin(new NvmeCommand { Opcode = AdminOpcode.Abort, Cdw10 = 1u | (999u << 16) });
        Assert.That(none.Dw0 & 1, Is.EqualTo(1u), "not aborted");
    }
}
