using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ManagedVmm.Core;
using ManagedVmm.Core.Memory;
using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Pci.Spec;

namespace ManagedVmm.Testing.Nvme;

/// <summary>
/// A test-side NVMe driver (libqos style): it plays the host through MMIO, configuration space and guest RAM,
/// in the order Linux's nvme-pci uses (reference nvme.md §9). Buffers live in guest RAM at guest-physical
/// addresses; <see cref="DeviceAddress"/> turns them into the addresses the device is given (IOVAs when a test
/// puts an IOMMU in the path; identity otherwise).
/// </summary>
public sealed class NvmeTestDriver
{
    /// <summary>Linux's admin queue depth (NVME_AQ_DEPTH).</summary>
    public const int AdminDepth = 32;

    /// <summary>The x86 MSI address the driver programs (APIC 0); vector v gets data 0x40 + v.</summary>
    public const ulong MsiAddress = 0xFEE0_0000;
    public const uint MsiDataBase = 0x40;

    public const int PageSize = 4096;

    private readonly Dictionary<(int Qid, ushort Cid), NvmeCompletion> _stash = [];
    private readonly DriverQueue?[] _queues = new DriverQueue?[1025];

    public NvmeTestDriver(IQtest q, Bdf bdf, ulong bar0, GuestBufferAllocator alloc, Func<ulong, ulong>? deviceAddress = null)
    {
        Q = q;
        Bdf = bdf;
        Bar0 = bar0;
        Alloc = alloc;
        DeviceAddress = deviceAddress ?? (a => a);
    }

    public IQtest Q { get; }

    public Bdf Bdf { get; }

    public ulong Bar0 { get; }

    public GuestBufferAllocator Alloc { get; }

    public Func<ulong, ulong> DeviceAddress { get; }

    /// <summary>Virtual nanoseconds the driver advances the clock per poll while waiting.</summary>
    public long PollStepNs { get; set; } = 1_000;

    /// <summary>Polls before a wait gives up (a command that never completes is a device bug, not a hang).</summary>
    public int MaxPolls { get; set; } = 100_000;

    /// <summary>Enumerates bus 0 like firmware (BARs assigned, memory decode and bus mastering on) and finds the NVMe function.</summary>
    public static NvmeTestDriver Attach(IQtest q, GuestBufferAllocator alloc, Func<ulong, ulong>? deviceAddress = null)
    {
        foreach (var f in PciProbe.Enumerate(q))
        {
            if (f.ClassCode == 0x01_08_02)
            {
                return new NvmeTestDriver(q, f.Address, f.BarAddresses[0], alloc, deviceAddress);
            }
        }

        throw new InvalidOperationException("no NVMe function (class 01:08:02) on bus 0");
    }

    // ---------------------------------------------------------------- registers

    public uint ReadReg32(int offset) => Q.ReadL(Bar0 + (ulong)offset);

    public void WriteReg32(int offset, uint value) => Q.WriteL(Bar0 + (ulong)offset, value);

    /// <summary>CAP read as Linux does: low half, then high half.</summary>
    public ulong ReadCap() => ReadReg32(NvmeReg.Cap) | ((ulong)ReadReg32(NvmeReg.Cap + 4) << 32);

    public uint CstsValue => ReadReg32(NvmeReg.Csts);

    public uint CcValue => ReadReg32(NvmeReg.Cc);

    /// <summary>Polls CSTS until RDY equals <paramref name="ready"/> (advancing virtual time); false on CFS or timeout.</summary>
    public bool WaitReady(bool ready, int polls = 1000)
    {
        for (int i = 0; i < polls; i++)
        {
            uint csts = CstsValue;
            if ((csts & Csts.Cfs) != 0)
            {
                return false;
            }

            if (((csts & Csts.Rdy) != 0) == ready)
            {
                return true;
            }

            Q.AdvanceClock(PollStepNs);
        }

        return false;
    }

    /// <summary>Programs vector v of the MSI-X table to (0xFEE00000, 0x40 + v), unmasked, and enables MSI-X.</summary>
    public void EnableMsix()
    {
        int cap = FindCapability(PciCapabilityId.MsiX);
        ushort control = Q.ConfigRead16(Bdf, cap + 2);
        int vectors = (control & 0x7FF) + 1;
        uint table = Q.ConfigRead32(Bdf, cap + 4);
        ulong tableBase = Bar0 + (table & ~7u);
        for (int v = 0; v < vectors; v++)
        {
            ulong e = tableBase + ((ulong)v * 16);
            Q.WriteL(e, (uint)MsiAddress);
            Q.WriteL(e + 4, 0);
            Q.WriteL(e + 8, MsiDataBase + (uint)v);
            Q.WriteL(e + 12, 0);
        }

        Q.ConfigWrite16(Bdf, cap + 2, (ushort)(control | 0x8000));
    }

    public int FindCapability(byte id)
    {
        int at = Q.ConfigRead8(Bdf, PciConfig.CapabilitiesPointer) & ~3;
        for (int guard = 0; at != 0 && guard < 48; guard++)
        {
            if (Q.ConfigRead8(Bdf, at) == id)
            {
                return at;
            }

            at = Q.ConfigRead8(Bdf, at + 1) & ~3;
        }

        throw new InvalidOperationException($"capability 0x{id:x2} not found");
    }

    /// <summary>
    /// Linux's nvme_pci_enable + nvme_pci_configure_admin_queue: read CSTS and CAP, read VS, disable and wait for
    /// RDY = 0, allocate zeroed admin queues, write AQA, ASQ and ACQ (low then high halves), write CC
    /// (EN, CSS NVM, MPS 0, AMS RR, IOSQES 6, IOCQES 4), wait for RDY = 1.
    /// </summary>
    public void EnableController(int adminDepth = AdminDepth, uint cc = LinuxCc)
    {
        if (CstsValue == 0xFFFF_FFFF)
        {
            throw new InvalidOperationException("CSTS reads all-ones: the device is gone");
        }

        _ = ReadCap();
        _ = ReadReg32(NvmeReg.Vs);
        WriteReg32(NvmeReg.Cc, CcValue & ~(Cc.En | (Cc.ShnMask << Cc.ShnShift)));
        if (!WaitReady(false))
        {
            throw new InvalidOperationException("controller did not clear RDY");
        }

        Array.Clear(_queues);
        _stash.Clear();
        var admin = new DriverQueue(0, adminDepth, Alloc.Alloc((ulong)adminDepth * 64), Alloc.Alloc((ulong)adminDepth * 16));
        _queues[0] = admin;
        WriteReg32(NvmeReg.Aqa, (uint)(adminDepth - 1) | ((uint)(adminDepth - 1) << 16));
        ulong asq = DeviceAddress(admin.SqGpa);
        ulong acq = DeviceAddress(admin.CqGpa);
        WriteReg32(NvmeReg.Asq, (uint)asq);
        WriteReg32(NvmeReg.Asq + 4, (uint)(asq >> 32));
        WriteReg32(NvmeReg.Acq, (uint)acq);
        WriteReg32(NvmeReg.Acq + 4, (uint)(acq >> 32));
        WriteReg32(NvmeReg.Cc, cc);
        if (!WaitReady(true))
        {
            throw new InvalidOperationException($"controller did not become ready (CSTS 0x{CstsValue:x})");
        }
    }

    /// <summary>CC as Linux writes it.</summary>
    public const uint LinuxCc = Cc.En | (Cc.SqEntrySizeLog2 << Cc.IosqesShift) | (Cc.CqEntrySizeLog2 << Cc.IocqesShift);

    /// <summary>Controller reset: CC.EN = 0 and wait for RDY = 0. The driver forgets its queues.</summary>
    public bool Disable()
    {
        WriteReg32(NvmeReg.Cc, CcValue & ~Cc.En);
        Array.Clear(_queues);
        _stash.Clear();
        return WaitReady(false);
    }

    /// <summary>Normal shutdown: CC.SHN = 01b, then poll CSTS.SHST until complete.</summary>
    public bool Shutdown(int polls = 1000)
    {
        WriteReg32(NvmeReg.Cc, (CcValue & ~(Cc.ShnMask << Cc.ShnShift)) | (1u << Cc.ShnShift));
        for (int i = 0; i < polls; i++)
        {
            if ((CstsValue & Csts.ShstMask) == Csts.ShstComplete)
            {
                return true;
            }

            Q.AdvanceClock(PollStepNs);
        }

        return false;
    }

    // ---------------------------------------------------------------- queues

    public int QueueDepth(int qid) => Queue(qid).Depth;

    /// <summary>Doorbell address of SQ <paramref name="qid"/>'s tail (DSTRD 0).</summary>
    public ulong SqDoorbell(int qid) => Bar0 + NvmeReg.DoorbellBase + ((ulong)qid * 8);

    public ulong CqDoorbell(int qid) => SqDoorbell(qid) + 4;

    /// <summary>Writes <paramref name="command"/> into SQ <paramref name="qid"/> with the next CID; rings the doorbell unless told not to.</summary>
    public ushort Submit(int qid, NvmeCommand command, bool ring = true)
    {
        var q = Queue(qid);
        command.Cid = q.NextCid;
        q.NextCid = (ushort)((q.NextCid + 1) & 0x7FFF);
        Q.Ram.TryWrite(q.SqGpa + ((ulong)q.SqTail * 64), MemoryMarshal.AsBytes(new ReadOnlySpan<NvmeCommand>(in command)));
        q.SqTail = (q.SqTail + 1) % q.Depth;
        if (ring)
        {
            RingSq(qid);
        }

        return command.Cid;
    }

    public void RingSq(int qid) => Q.WriteL(SqDoorbell(qid), (uint)Queue(qid).SqTail);

    public void RingCq(int qid) => Q.WriteL(CqDoorbell(qid), (uint)Queue(qid).CqHead);

    /// <summary>Takes the next CQE if its phase tag says it is new (nvme_cqe_pending); does not ring the doorbell.</summary>
    public bool TryTakeCompletion(int qid, out NvmeCompletion cqe)
    {
        var q = Queue(qid);
        Span<byte> raw = stackalloc byte[16];
        Q.Ram.TryRead(q.CqGpa + ((ulong)q.CqHead * 16), raw);
        cqe = MemoryMarshal.Read<NvmeCompletion>(raw);
        if (cqe.Phase != q.Phase)
        {
            return false;
        }

        q.CqHead++;
        if (q.CqHead == q.Depth)
        {
            q.CqHead = 0;
            q.Phase = !q.Phase;
        }

        return true;
    }

    /// <summary>Takes every new CQE of the queue into the stash and rings the CQ doorbell once; returns how many.</summary>
    public int Reap(int qid)
    {
        int n = 0;
        while (TryTakeCompletion(qid, out var cqe))
        {
            _stash[(qid, cqe.Cid)] = cqe;
            n++;
        }

        if (n > 0)
        {
            RingCq(qid);
        }

        return n;
    }

    /// <summary>True when a completion for <paramref name="cid"/> has arrived (takes it).</summary>
    public bool TryGetCompletion(int qid, ushort cid, out NvmeCompletion cqe)
    {
        Reap(qid);
        return _stash.Remove((qid, cid), out cqe);
    }

    /// <summary>Waits (advancing virtual time) for the completion of <paramref name="cid"/>.</summary>
    public NvmeCompletion Wait(int qid, ushort cid)
    {
        for (int i = 0; i < MaxPolls; i++)
        {
            if (TryGetCompletion(qid, cid, out var cqe))
            {
                return cqe;
            }

            Q.AdvanceClock(PollStepNs);
        }

        throw new InvalidOperationException($"no completion for CID {cid} on queue {qid} (CSTS 0x{CstsValue:x})");
    }

    public NvmeCompletion Execute(int qid, NvmeCommand command) => Wait(qid, Submit(qid, command));

    public NvmeCompletion Admin(NvmeCommand command) => Execute(0, command);

    // ---------------------------------------------------------------- admin commands

    public NvmeCompletion Identify(byte cns, uint nsid, ulong bufferGpa) =>
        Admin(new NvmeCommand { Opcode = AdminOpcode.Identify, Nsid = nsid, Prp1 = DeviceAddress(bufferGpa), Cdw10 = cns });

    /// <summary>Identify into a fresh 4 KiB buffer; returns the status and the data.</summary>
    public (NvmeCompletion Cqe, byte[] Data) Identify(byte cns, uint nsid = 0)
    {
        ulong buf = Alloc.Alloc(PageSize);
        var cqe = Identify(cns, nsid, buf);
        var data = new byte[PageSize];
        Q.Ram.TryRead(buf, data);
        return (cqe, data);
    }

    public NvmeCompletion SetFeatures(byte fid, uint cdw11) =>
        Admin(new NvmeCommand { Opcode = AdminOpcode.SetFeatures, Cdw10 = fid, Cdw11 = cdw11 });

    public NvmeCompletion GetFeatures(byte fid, uint cdw11 = 0, int sel = 0) =>
        Admin(new NvmeCommand { Opcode = AdminOpcode.GetFeatures, Cdw10 = fid | ((uint)sel << 8), Cdw11 = cdw11 });

    /// <summary>Set Features Number of Queues asking for <paramref name="pairs"/> (0-based on the wire).</summary>
    public NvmeCompletion SetNumberOfQueues(int pairs) =>
        SetFeatures(FeatureId.NumberOfQueues, (uint)(pairs - 1) | ((uint)(pairs - 1) << 16));

    public (NvmeCompletion Cqe, byte[] Data) GetLogPage(byte lid, int length, uint nsid = 0xFFFF_FFFF, ulong offset = 0)
    {
        ulong buf = Alloc.Alloc(PageSize);
        uint numd = (uint)(length / 4) - 1;
        var cqe = Admin(new NvmeCommand
        {
            Opcode = AdminOpcode.GetLogPage,
            Nsid = nsid,
            Prp1 = DeviceAddress(buf),
            Cdw10 = lid | (numd << 16),
            Cdw11 = numd >> 16,
            Cdw12 = (uint)offset,
            Cdw13 = (uint)(offset >> 32),
        });
        var data = new byte[length];
        Q.Ram.TryRead(buf, data);
        return (cqe, data);
    }

    public NvmeCompletion CreateIoCq(int qid, int depth, int vector, bool interrupts = true, ulong? baseGpa = null)
    {
        ulong cq = baseGpa ?? Alloc.Alloc((ulong)depth * 16);
        var cqe = Admin(new NvmeCommand
        {
            Opcode = AdminOpcode.CreateIoCq,
            Prp1 = DeviceAddress(cq),
            Cdw10 = (uint)qid | ((uint)(depth - 1) << 16),
            Cdw11 = 1u | (interrupts ? 2u : 0) | ((uint)vector << 16),
        });
        if (NvmeStatus.IsSuccess(cqe.Status) && qid < _queues.Length)
        {
            _queues[qid] = new DriverQueue(qid, depth, 0, cq);
        }

        return cqe;
    }

    public NvmeCompletion CreateIoSq(int qid, int depth, int cqid, ulong? baseGpa = null)
    {
        ulong sq = baseGpa ?? Alloc.Alloc((ulong)depth * 64);
        var cqe = Admin(new NvmeCommand
        {
            Opcode = AdminOpcode.CreateIoSq,
            Prp1 = DeviceAddress(sq),
            Cdw10 = (uint)qid | ((uint)(depth - 1) << 16),
            Cdw11 = 1u | ((uint)cqid << 16),
        });
        if (NvmeStatus.IsSuccess(cqe.Status) && _queues[cqid] is { } cq && cqid == qid)
        {
            cq.SqGpa = sq;
        }

        return cqe;
    }

    /// <summary>Create I/O CQ then SQ with the same ID, vector = qid (Linux's nvme_create_queue); throws on failure.</summary>
    public void CreateIoQueuePair(int qid, int depth, int? vector = null)
    {
        var cq = CreateIoCq(qid, depth, vector ?? qid);
        if (!NvmeStatus.IsSuccess(cq.Status))
        {
            throw new InvalidOperationException($"Create I/O CQ {qid}: {NvmeStatus.Describe(cq.Status)}");
        }

        var sq = CreateIoSq(qid, depth, qid);
        if (!NvmeStatus.IsSuccess(sq.Status))
        {
            throw new InvalidOperationException($"Create I/O SQ {qid}: {NvmeStatus.Describe(sq.Status)}");
        }
    }

    public NvmeCompletion DeleteIoSq(int qid) => Admin(new NvmeCommand { Opcode = AdminOpcode.DeleteIoSq, Cdw10 = (uint)qid });

    public NvmeCompletion DeleteIoCq(int qid) => Admin(new NvmeCommand { Opcode = AdminOpcode.DeleteIoCq, Cdw10 = (uint)qid });

    /// <summary>
    /// The whole Linux bring-up (reference §9): enable, Identify Controller, SMART log (hwmon), Number of Queues,
    /// MSI-X, one I/O queue pair per <paramref name="ioQueues"/>, then Identify CNS 02h, 03h and 00h for NSID 1.
    /// Returns the namespace's LBA size.
    /// </summary>
    public int BringUp(int ioQueues = 1, int ioDepth = 64)
    {
        EnableController();
        Expect(Identify(IdentifyCns.Controller).Cqe, "Identify Controller");
        Expect(GetLogPage(LogPageId.SmartHealth, LogPageId.SmartSize).Cqe, "SMART log");
        var nq = SetNumberOfQueues(ioQueues);
        Expect(nq, "Set Features Number of Queues");
        EnableMsix();
        int granted = (int)Math.Min(nq.Dw0 & 0xFFFF, nq.Dw0 >> 16) + 1;
        for (int q = 1; q <= Math.Min(ioQueues, granted); q++)
        {
            CreateIoQueuePair(q, ioDepth);
        }

        Expect(Identify(IdentifyCns.ActiveNamespaceList, 0).Cqe, "Identify active namespace list");
        Expect(Identify(IdentifyCns.NamespaceDescriptorList, 1).Cqe, "Identify namespace descriptors");
        var (cqe, ns) = Identify(IdentifyCns.Namespace, 1);
        Expect(cqe, "Identify Namespace");
        int flbas = ns[IdentifyOffsets.NsFlbas] & 0xF;
        return 1 << ns[IdentifyOffsets.NsLbaf0 + (4 * flbas) + 2];
    }

    private static void Expect(NvmeCompletion cqe, string what)
    {
        if (!NvmeStatus.IsSuccess(cqe.Status))
        {
            throw new InvalidOperationException($"{what}: {NvmeStatus.Describe(cqe.Status)}");
        }
    }

    // ---------------------------------------------------------------- PRPs and I/O

    /// <summary>
    /// PRPs for a physically contiguous buffer at <paramref name="gpa"/> (as Linux's nvme_pci_setup_prps): PRP1 with
    /// the offset, PRP2 as the second page or as a PRP list (allocated here) for longer transfers.
    /// </summary>
    public (ulong Prp1, ulong Prp2) BuildPrps(ulong gpa, int length)
    {
        ulong first = PageSize - (gpa & (PageSize - 1));
        if ((ulong)length <= first)
        {
            return (DeviceAddress(gpa), 0);
        }

        ulong next = gpa + first;
        if ((ulong)length <= first + PageSize)
        {
            return (DeviceAddress(gpa), DeviceAddress(next));
        }

        var pages = new List<ulong>();
        for (ulong at = next; at < gpa + (ulong)length; at += PageSize)
        {
            pages.Add(DeviceAddress(at));
        }

        return (DeviceAddress(gpa), BuildPrpList(pages));
    }

    /// <summary>
    /// Writes a PRP list of <paramref name="devicePages"/> and returns its device address. The first list page
    /// starts at <paramref name="firstListOffset"/> bytes into a page (so it holds fewer entries); full list
    /// pages chain through their last slot to the next page.
    /// </summary>
    public ulong BuildPrpList(IReadOnlyList<ulong> devicePages, int firstListOffset = 0)
    {
        ulong firstPage = Alloc.Alloc(PageSize);
        ulong listGpa = firstPage + (ulong)firstListOffset;
        int slots = (PageSize - firstListOffset) / 8;
        ulong at = listGpa;
        int i = 0;
        while (i < devicePages.Count)
        {
            int remaining = devicePages.Count - i;
            if (remaining <= slots)
            {
                for (int k = 0; k < remaining; k++)
                {
                    WriteU64(at + ((ulong)k * 8), devicePages[i++]);
                }

                break;
            }

            for (int k = 0; k < slots - 1; k++)
            {
                WriteU64(at + ((ulong)k * 8), devicePages[i++]);
            }

            ulong nextPage = Alloc.Alloc(PageSize);
            WriteU64(at + ((ulong)(slots - 1) * 8), DeviceAddress(nextPage));
            at = nextPage;
            slots = PageSize / 8;
        }

        return DeviceAddress(listGpa);
    }

    public static NvmeCommand ReadWriteCommand(byte opcode, ulong slba, int blocks, ulong prp1, ulong prp2, uint nsid = 1) => new()
    {
        Opcode = opcode,
        Nsid = nsid,
        Prp1 = prp1,
        Prp2 = prp2,
        Cdw10 = (uint)slba,
        Cdw11 = (uint)(slba >> 32),
        Cdw12 = (uint)(blocks - 1) & 0xFFFF,
    };

    /// <summary>Reads <paramref name="blocks"/> blocks at <paramref name="slba"/> into the buffer at <paramref name="gpa"/>.</summary>
    public NvmeCompletion Read(int qid, ulong slba, int blocks, ulong gpa, int lbaSize)
    {
        var (p1, p2) = BuildPrps(gpa, blocks * lbaSize);
        return Execute(qid, ReadWriteCommand(NvmOpcode.Read, slba, blocks, p1, p2));
    }

    public NvmeCompletion Write(int qid, ulong slba, int blocks, ulong gpa, int lbaSize)
    {
        var (p1, p2) = BuildPrps(gpa, blocks * lbaSize);
        return Execute(qid, ReadWriteCommand(NvmOpcode.Write, slba, blocks, p1, p2));
    }

    public NvmeCompletion Flush(int qid, uint nsid = 1) => Execute(qid, new NvmeCommand { Opcode = NvmOpcode.Flush, Nsid = nsid });

    private void WriteU64(ulong gpa, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        Q.Ram.TryWrite(gpa, b);
    }

    private DriverQueue Queue(int qid) => _queues[qid] ?? throw new InvalidOperationException($"the driver has no queue {qid}");

    private sealed class DriverQueue(int id, int depth, ulong sqGpa, ulong cqGpa)
    {
        public int Id { get; } = id;

        public int Depth { get; } = depth;

        public ulong SqGpa { get; set; } = sqGpa;

        public ulong CqGpa { get; } = cqGpa;

        public int SqTail { get; set; }

        public int CqHead { get; set; }

        public bool Phase { get; set; } = true;

        public ushort NextCid { get; set; }
    }
}
