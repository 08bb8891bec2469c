// NvmeController — an NVMe controller as a PCI function (class 01:08:02), NVMe Base Specification 1.4.
//
// Models: BAR0 (64-bit) with the controller registers (CAP, VS, INTMS/INTMC, CC, CSTS, AQA, ASQ, ACQ), the SQ
// tail / CQ head doorbells (DSTRD 0), and the MSI-X table and PBA; enable, controller reset (CC.EN 1→0),
// normal and abrupt shutdown (CC.SHN → CSTS.SHST), controller fatal status (CSTS.CFS) when an SQ entry cannot be
// fetched or a CQ entry cannot be posted; the admin queue and up to MaxIoQueuePairs I/O queue pairs; the admin
// commands Identify (CNS 00h–03h), Create/Delete I/O SQ/CQ, Get/Set Features, Get Log Page (Error Information,
// SMART / Health, Firmware Slot), Abort and Asynchronous Event Request; the NVM commands Read, Write, Flush,
// Write Zeroes and Dataset Management over PRPs (PRP1, PRP2, chained PRP lists); one namespace (NSID 1) of
// 512 B or 4 KiB blocks in memory or in a disk image file; MSI-X per completion queue; latency in virtual time.
//
// Every access to host memory (SQ entry fetch, PRP list read, data, CQ entry post) goes through the function's
// DMA view (PciFunction.Dma): translated by an IOMMU when one covers the requester, blocked with bus mastering
// off. The controller never learns which.
//
// Leaves out: SGLs (SGLS = 0), metadata and protection information, fused commands, CMB/PMR, shadow doorbells
// (OACS bit 8 = 0), namespace management, Format NVM, firmware commands, multiple namespaces, weighted round
// robin arbitration, interrupt coalescing (the feature is stored, not applied), INTx delivery (INTMS/INTMC are
// kept and shown, but the platform has no INTx wire), NVM subsystem reset (CAP.NSSRS = 0), the NVMe 2.0 fields.
using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Memory;
using ManagedVmm.Core.Time;
using ManagedVmm.Devices.Nvme.Backends;
using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Pci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Devices.Nvme;

public sealed partial class NvmeController : PciFunction, IDisposable
{
    /// <summary>Red Hat's NVMe identity, as QEMU's <c>nvme</c> device (reference nvme.md §0).</summary>
    public const ushort VendorId = 0x1B36;
    public const ushort DeviceIdNvme = 0x0010;
    public const uint ClassCodeNvme = 0x01_08_02;

    /// <summary>
    /// Commands in flight (fetched, not yet completed) across all queues. Each holds a copy of its SQ entry and a
    /// virtual timer created once; the guest cannot grow it. Identify Controller reports it as MAXCMD.
    /// </summary>
    public const int MaxOutstandingCommands = 1024;

    /// <summary>Asynchronous Event Requests held at once: AERL + 1 (AERL = 3, QEMU's default).</summary>
    public const int AerLimit = 4;

    /// <summary>Abort Command Limit: ACL + 1 concurrent aborts (ACL = 3).</summary>
    public const int AbortLimit = 4;

    /// <summary>Asynchronous events waiting for an AER; a guest that never sends one cannot grow this.</summary>
    public const int MaxPendingAsyncEvents = 8;

    /// <summary>Error Information log entries kept (ELPE + 1).</summary>
    public const int ErrorLogEntries = 16;

    /// <summary>Admin queue entries at most: AQA's 12-bit 0-based fields.</summary>
    public const int MaxAdminQueueEntries = 4096;

    /// <summary>CAP.TO: worst-case time to ready, 500 ms units (QEMU 0xF = 7.5 s; this model is ready at once).</summary>
    public const int TimeoutUnits = 0x0F;

    /// <summary>CAP.MPSMAX: memory page sizes up to 2^(12+4) = 64 KiB, as QEMU.</summary>
    public const int MpsMax = 4;

    /// <summary>The one namespace's ID.</summary>
    public const uint NamespaceId = 1;

    private const uint BroadcastNsid = 0xFFFF_FFFF;
    private const int MinPageSize = 4096;

    private readonly NvmeOptions _options;
    private readonly EventScheduler _scheduler;
    private readonly ILogger _log;
    private readonly INamespaceBackend _backend;
    private readonly int _lbaShift;
    private readonly ulong _nsze;
    private readonly int _maxTransfer;
    private readonly int _vectors;
    private readonly ulong _cap;
    private readonly SubmissionQueue?[] _sqs;
    private readonly CompletionQueue?[] _cqs;
    private readonly CommandSlot[] _slots;
    private readonly Stack<int> _freeSlots;
    private readonly byte[] _buffer;
    private readonly long[] _unitFreeAt;
    private readonly ushort[] _aerCids = new ushort[AerLimit];
    private readonly Queue<uint> _pendingEvents = new(MaxPendingAsyncEvents);
    private readonly ErrorLogEntry[] _errorLog = new ErrorLogEntry[ErrorLogEntries];
    private readonly bool[] _vectorCoalescingDisabled;
    private bool _disposed;

    private uint _cc;
    private uint _csts;
    private uint _aqa;
    private ulong _asq;
    private ulong _acq;
    private uint _intms;
    private int _pageSize = MinPageSize;
    private PrpWalker _prp;
    private int _aerCount;
    private int _maskedEventTypes;
    private long _errorCount;
    private bool _processing;
    private bool _reprocess;
    private int _nextSq;

    // Feature values (NVMe 1.4 §5.21.1); reset by a controller reset.
    private uint _featArbitration;
    private uint _featPowerManagement;
    private uint _featTemperatureThreshold;
    private uint _featErrorRecovery;
    private uint _featVolatileWriteCache;
    private uint _featInterruptCoalescing;
    private uint _featAsyncEventConfig;

    public NvmeController(IOptions<NvmeOptions> options, EventScheduler scheduler, ILoggerFactory? loggerFactory = null)
        : this(options.Value, scheduler, loggerFactory)
    {
    }

    public NvmeController(NvmeOptions options, EventScheduler scheduler, ILoggerFactory? loggerFactory = null)
        : base("nvme", new PciIdentity(VendorId, DeviceIdNvme, ClassCodeNvme, 0x02, 0x1AF4, 0x1100, InterruptPin: 1))
    {
        if (options.Validate() is string error)
        {
            throw new NvmeConfigurationException(error);
        }

        _options = options;
        _scheduler = scheduler;
        _log = loggerFactory?.CreateLogger(NvmeLog.Category) ?? NullLogger.Instance;
        PreferredDevice = options.Slot;
        _backend = options.File != null
            ? FileBackend.Open(options.File, options.Size, options.LbaSize, options.ReadOnly)
            : new MemoryBackend(options.Size, options.ReadOnly);
        _lbaShift = options.LbaSize == 4096 ? 12 : 9;
        _nsze = _backend.Length >> _lbaShift;
        _maxTransfer = MinPageSize << options.Mdts;
        _vectors = options.EffectiveMsixVectors;
        _buffer = new byte[_maxTransfer];
        _prp = new PrpWalker(MaxSegmentsFor(_pageSize), _pageSize);
        _unitFreeAt = new long[options.Latency.ParallelUnits];
        _vectorCoalescingDisabled = new bool[_vectors];
        _sqs = new SubmissionQueue?[options.MaxIoQueuePairs + 1];
        _cqs = new CompletionQueue?[options.MaxIoQueuePairs + 1];
        _slots = new CommandSlot[MaxOutstandingCommands];
        _freeSlots = new Stack<int>(MaxOutstandingCommands);
        for (int i = MaxOutstandingCommands - 1; i >= 0; i--)
        {
            var slot = new CommandSlot(i);
            slot.Timer = scheduler.CreateTimer($"nvme-cmd{i}", _ => OnCommandDue(slot));
            _slots[i] = slot;
            _freeSlots.Push(i);
        }

        _cap = ((ulong)(options.MaxQueueEntries - 1) << Cap.MqesShift)
            | Cap.Cqr
            | ((ulong)TimeoutUnits << Cap.ToShift)
            | Cap.CssNvm
            | ((ulong)MpsMax << Cap.MpsMaxShift);

        // BAR0: registers 0x0000–0x0FFF, doorbells from 0x1000, then the MSI-X table and PBA, each 4 KiB aligned.
        ulong doorbellBytes = (ulong)(options.MaxIoQueuePairs + 1) * 8;
        ulong tableOffset = NvmeReg.DoorbellBase + RoundUp(doorbellBytes, 4096);
        ulong pbaOffset = tableOffset + RoundUp((ulong)_vectors * 16, 4096);
        ulong pbaBytes = (ulong)((_vectors + 63) / 64 * 8);
        ulong barSize = RoundUpPow2(pbaOffset + RoundUp(pbaBytes, 4096));
        var msix = AddMsix(_vectors, 0, (uint)tableOffset, 0, (uint)pbaOffset);
        Bar0Layout = new NvmeBarLayout(barSize, NvmeReg.DoorbellBase, doorbellBytes, tableOffset, pbaOffset);
        var router = new MmioRegionRouter()
            .Map(0, NvmeReg.RegisterPageSize, new RegisterWindow(this), "nvme-regs")
            .Map(NvmeReg.DoorbellBase, doorbellBytes, new DoorbellWindow(this), "nvme-doorbells")
            .Map(tableOffset, msix.TableSize, msix.Table, "msix-table")
            .Map(pbaOffset, msix.PbaSize, msix.PendingBits, "msix-pba");
        AddMemoryBar(0, barSize, router, is64Bit: true);
        ResetFeatures();
    }

    public NvmeOptions Options => _options;

    public NvmeStatistics Statistics { get; } = new();

    /// <summary>Where the registers, doorbells and MSI-X structures sit in BAR0.</summary>
    public NvmeBarLayout Bar0Layout { get; }

    /// <summary>The namespace's backing store.</summary>
    public INamespaceBackend Backend => _backend;

    public uint ControllerStatus => _csts;

    public uint ControllerConfiguration => _cc;

    public bool IsReady => (_csts & Csts.Rdy) != 0;

    public bool IsFatal => (_csts & Csts.Cfs) != 0;

    private bool CanProcess => (_csts & (Csts.Rdy | Csts.Cfs)) == Csts.Rdy && ((_cc >> Cc.ShnShift) & Cc.ShnMask) == 0;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CancelAllCommands();
        _backend.Dispose();
    }

    protected override void OnReset(ResetKind kind)
    {
        // A PCI-level reset (FLR or system reset) takes the controller back to power-on: queues gone, registers zero.
        ControllerReset();
        _cc = 0;
        _aqa = 0;
        _asq = 0;
        _acq = 0;
    }

    // ---------------------------------------------------------------- registers

    private uint ReadRegister32(int offset) => offset switch
    {
        NvmeReg.Cap => (uint)_cap,
        NvmeReg.Cap + 4 => (uint)(_cap >> 32),
        NvmeReg.Vs => NvmeReg.Version14,
        NvmeReg.Intms or NvmeReg.Intmc => _intms,
        NvmeReg.Cc => _cc,
        NvmeReg.Csts => _csts,
        NvmeReg.Aqa => _aqa,
        NvmeReg.Asq => (uint)_asq,
        NvmeReg.Asq + 4 => (uint)(_asq >> 32),
        NvmeReg.Acq => (uint)_acq,
        NvmeReg.Acq + 4 => (uint)(_acq >> 32),
        _ => 0,
    };

    private void ReadRegisters(ulong offset, Span<byte> data)
    {
        if (data.Length == 4 && (offset & 3) == 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data, ReadRegister32((int)offset));
            return;
        }

        // Any other width or alignment: reads have no side effects, so assemble the bytes (QEMU tolerates these too).
        for (int i = 0; i < data.Length; i++)
        {
            int at = (int)offset + i;
            data[i] = (byte)(ReadRegister32(at & ~3) >> (8 * (at & 3)));
        }
    }

    private void WriteRegisters(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.Length == 8 && (offset & 7) == 0)
        {
            WriteRegister32((int)offset, BinaryPrimitives.ReadUInt32LittleEndian(data));
            WriteRegister32((int)offset + 4, BinaryPrimitives.ReadUInt32LittleEndian(data[4..]));
            return;
        }

        if (data.Length != 4 || (offset & 3) != 0)
        {
            GuestError($"register write of {data.Length} bytes at 0x{offset:x}: only aligned 32- and 64-bit writes are supported; ignored");
            return;
        }

        WriteRegister32((int)offset, BinaryPrimitives.ReadUInt32LittleEndian(data));
    }

    private void WriteRegister32(int offset, uint value)
    {
        switch (offset)
        {
            case NvmeReg.Intms:
            case NvmeReg.Intmc:
                if (Msix?.Enabled == true)
                {
                    GuestError($"{(offset == NvmeReg.Intms ? "INTMS" : "INTMC")} written with MSI-X enabled (undefined; applies to INTx only)");
                }

                _intms = offset == NvmeReg.Intms ? _intms | value : _intms & ~value;
                break;
            case NvmeReg.Cc:
                WriteCc(value);
                break;
            case NvmeReg.Csts:
                // NSSRO is write-1-to-clear; this controller never sets it. Everything else is read-only.
                if ((value & ~Csts.Nssro) != 0)
                {
                    GuestError($"write 0x{value:x} to read-only CSTS ignored");
                }

                break;
            case NvmeReg.Nssr:
                GuestError("NSSR written but NVM subsystem reset is not supported (CAP.NSSRS = 0); ignored");
                break;
            case NvmeReg.Aqa:
                if ((value & ~Aqa.WritableMask) != 0)
                {
                    GuestError($"AQA 0x{value:x}: reserved bits set; ignored");
                }

                _aqa = value & Aqa.WritableMask;
                break;
            case NvmeReg.Asq:
                _asq = (_asq & 0xFFFF_FFFF_0000_0000) | value;
                break;
            case NvmeReg.Asq + 4:
                _asq = (_asq & 0xFFFF_FFFF) | ((ulong)value << 32);
                break;
            case NvmeReg.Acq:
                _acq = (_acq & 0xFFFF_FFFF_0000_0000) | value;
                break;
            case NvmeReg.Acq + 4:
                _acq = (_acq & 0xFFFF_FFFF) | ((ulong)value << 32);
                break;
            case NvmeReg.Cap:
            case NvmeReg.Cap + 4:
            case NvmeReg.Vs:
                GuestError($"write 0x{value:x} to read-only register 0x{offset:x} ignored");
                break;
            default:
                GuestError($"write 0x{value:x} to reserved or unimplemented register 0x{offset:x} ignored");
                break;
        }
    }

    private void WriteCc(uint value)
    {
        if ((value & ~Cc.WritableMask) != 0)
        {
            GuestError($"CC 0x{value:x}: reserved bits set; they are ignored");
            value &= Cc.WritableMask;
        }

        uint old = _cc;
        bool wasEnabled = (old & Cc.En) != 0;
        bool enable = (value & Cc.En) != 0;
        uint shnBits = Cc.ShnMask << Cc.ShnShift;
        uint oldShn = (old >> Cc.ShnShift) & Cc.ShnMask;
        uint newShn = (value >> Cc.ShnShift) & Cc.ShnMask;

        if (wasEnabled && enable)
        {
            // Only SHN may change while enabled (NVMe 1.4 §3.1.5: other fields are set before EN).
            if (((old ^ value) & ~shnBits) != 0)
            {
                GuestError($"CC changed from 0x{old:x} to 0x{value:x} while enabled: only SHN is accepted");
            }

            _cc = (old & ~shnBits) | (value & shnBits);
        }
        else
        {
            _cc = value;
        }

        if (!wasEnabled && enable)
        {
            Start();
        }
        else if (wasEnabled && !enable)
        {
            ControllerReset();
        }

        if (oldShn == 0 && newShn != 0)
        {
            BeginShutdown(newShn);
        }
    }

    /// <summary>CC.EN 0→1: validate the admin queue configuration (QEMU's checks) and build the admin queues.</summary>
    private void Start()
    {
        uint asqs = _aqa & Aqa.AsqsMask;
        uint acqs = (_aqa >> Aqa.AcqsShift) & Aqa.AsqsMask;
        uint mps = (_cc >> Cc.MpsShift) & Cc.MpsMask;
        uint css = (_cc >> Cc.CssShift) & Cc.CssMask;
        uint ams = (_cc >> Cc.AmsShift) & Cc.AmsMask;
        int pageSize = MinPageSize << (int)Math.Min(mps, 15);
        string? error = null;
        if ((_csts & Csts.Cfs) != 0)
        {
            error = "controller is fatal; reset it (CC.EN = 0) first";
        }
        else if (asqs == 0 || acqs == 0)
        {
            error = $"AQA 0x{_aqa:x}: admin queue sizes must be at least 2 entries";
        }
        else if (mps > MpsMax)
        {
            error = $"CC.MPS {mps} is outside CAP.MPSMIN..MPSMAX (0..{MpsMax})";
        }
        else if (css != Cc.CssNvm)
        {
            error = $"CC.CSS {css} is not supported (CAP.CSS has the NVM command set only)";
        }
        else if (ams != 0)
        {
            error = $"CC.AMS {ams} is not supported (round robin only)";
        }
        else if ((_asq & (ulong)(pageSize - 1)) != 0 || (_acq & (ulong)(pageSize - 1)) != 0)
        {
            error = $"ASQ 0x{_asq:x} / ACQ 0x{_acq:x} not aligned to the {pageSize}-byte page";
        }

        if (error != null)
        {
            GuestError($"enable refused: {error}; CSTS.CFS set");
            _csts |= Csts.Cfs;
            NvmeLog.Fatal(_log, error);
            return;
        }

        if (pageSize != _pageSize)
        {
            _pageSize = pageSize;
            _prp = new PrpWalker(MaxSegmentsFor(pageSize), pageSize);
        }

        var acq = new CompletionQueue(0, _acq, (int)acqs + 1, vector: 0, interruptsEnabled: true) { SqCount = 1 };
        _cqs[0] = acq;
        _sqs[0] = new SubmissionQueue(0, _asq, (int)asqs + 1, 0);
        _csts = Csts.Rdy;
        NvmeLog.Enable(_log, _cc, _asq, _acq, _aqa);
    }

    /// <summary>
    /// Controller reset (CC.EN 1→0, NVMe 1.4 §7.3.2): commands in flight are dropped without completing, all
    /// queues deleted, held AERs and queued events dropped, CSTS, INTMS and the features back to their defaults.
    /// AQA, ASQ and ACQ keep their values.
    /// </summary>
    private void ControllerReset()
    {
        NvmeLog.Reset(_log, Statistics.Outstanding);
        CancelAllCommands();
        Array.Clear(_sqs);
        Array.Clear(_cqs);
        Array.Clear(_unitFreeAt);
        _aerCount = 0;
        _pendingEvents.Clear();
        _maskedEventTypes = 0;
        _csts = 0;
        _intms = 0;
        ResetFeatures();
        Statistics.ControllerResets++;
    }

    private void BeginShutdown(uint shn)
    {
        NvmeLog.Shutdown(_log, shn);
        _csts = (_csts & ~Csts.ShstMask) | Csts.ShstInProgress;
        if (shn == 2)
        {
            // Abrupt shutdown: stop at once; commands in flight are dropped.
            CancelAllCommands();
        }

        TryFinishShutdown();
    }

    private void TryFinishShutdown()
    {
        if ((_csts & Csts.ShstMask) != Csts.ShstInProgress || Statistics.Outstanding != 0)
        {
            return;
        }

        FlushBackend();
        _csts = (_csts & ~Csts.ShstMask) | Csts.ShstComplete;
    }

    private void FlushBackend()
    {
        try
        {
            _backend.Flush();
        }
        catch (IOException e)
        {
            _log.LogError(e, "nvme: flushing {Backend} failed", _backend.Description);
        }
    }

    private void ResetFeatures()
    {
        _featArbitration = 0;
        _featPowerManagement = 0;
        _featTemperatureThreshold = WarningTemperatureKelvin;
        _featErrorRecovery = 0;
        _featVolatileWriteCache = 1;
        _featInterruptCoalescing = 0;
        _featAsyncEventConfig = 0;
        Array.Clear(_vectorCoalescingDisabled);
    }

    /// <summary>Sets CSTS.CFS and stops: what QEMU does when an SQ entry or CQ entry cannot be transferred.</summary>
    private void Fatal(string reason, ulong address)
    {
        Statistics.FatalDmaFaults++;
        GuestError($"{reason} at 0x{address:x} failed: controller fatal (CSTS.CFS)");
        NvmeLog.DmaFault(_log, reason, address);
        NvmeLog.Fatal(_log, reason);
        _csts |= Csts.Cfs;
        CancelAllCommands();
    }

    // ---------------------------------------------------------------- doorbells

    private void WriteDoorbell(ulong offset, ReadOnlySpan<byte> data)
    {
        Statistics.Doorbells++;
        if (data.Length != 4 || (offset & 3) != 0)
        {
            GuestError($"doorbell write of {data.Length} bytes at 0x{offset + NvmeReg.DoorbellBase:x}: doorbells are 32-bit; ignored");
            return;
        }

        int index = (int)(offset >> 2);
        int qid = index >> 1;
        bool isCq = (index & 1) != 0;
        uint raw = BinaryPrimitives.ReadUInt32LittleEndian(data);
        int value = (int)(raw & 0xFFFF);
        NvmeLog.Doorbell(_log, isCq ? "cq_head" : "sq_tail", qid, value);
        if (!CanProcess)
        {
            GuestError($"{(isCq ? "CQ" : "SQ")}{qid} doorbell written while the controller is not ready (CSTS 0x{_csts:x}); ignored");
            return;
        }

        if (isCq)
        {
            var cq = _cqs[qid];
            if (cq == null)
            {
                InvalidDoorbell($"CQ{qid} head doorbell: no such queue", AsyncEvent.InfoInvalidDoorbellRegister);
                return;
            }

            int consumed = (value - cq.Head + cq.Size) % cq.Size;
            if (raw > 0xFFFF || value >= cq.Size || consumed > cq.Posted)
            {
                InvalidDoorbell($"CQ{qid} head {raw}: outside the queue of {cq.Size} or past the {cq.Posted} posted entries", AsyncEvent.InfoInvalidDoorbellValue);
                return;
            }

            cq.Head = value;
            DrainWaiting(cq);
            ProcessSubmissions();
        }
        else
        {
            var sq = _sqs[qid];
            if (sq == null)
            {
                InvalidDoorbell($"SQ{qid} tail doorbell: no such queue", AsyncEvent.InfoInvalidDoorbellRegister);
                return;
            }

            if (raw > 0xFFFF || value >= sq.Size)
            {
                InvalidDoorbell($"SQ{qid} tail {raw}: outside the queue of {sq.Size}", AsyncEvent.InfoInvalidDoorbellValue);
                return;
            }

            sq.Tail = value;
            ProcessSubmissions();
        }
    }

    /// <summary>An invalid doorbell write is ignored, logged, and reported as an Error asynchronous event (as QEMU).</summary>
    private void InvalidDoorbell(string message, byte info)
    {
        GuestError(message + "; ignored");
        PostAsyncEvent(AsyncEvent.TypeError, info, LogPageId.ErrorInformation);
    }

    // ---------------------------------------------------------------- submission and completion

    /// <summary>Fetches SQ entries round robin while any SQ has entries and a command slot is free.</summary>
    private void ProcessSubmissions()
    {
        if (_processing)
        {
            _reprocess = true;
            return;
        }

        _processing = true;
        try
        {
            do
            {
                _reprocess = false;
                bool progress = true;
                while (progress && CanProcess && _freeSlots.Count > 0)
                {
                    progress = false;
                    for (int n = 0; n < _sqs.Length && CanProcess && _freeSlots.Count > 0; n++)
                    {
                        int q = (_nextSq + n) % _sqs.Length;
                        var sq = _sqs[q];
                        if (sq != null && !sq.IsEmpty)
                        {
                            FetchAndStart(sq);
                            progress = true;
                            _nextSq = (q + 1) % _sqs.Length;
                            break;
                        }
                    }
                }
            }
            while (_reprocess);
        }
        finally
        {
            _processing = false;
        }
    }

    private void FetchAndStart(SubmissionQueue sq)
    {
        ulong address = sq.Base + ((ulong)sq.Head * NvmeCommand.Size);
        if (!Dma.TryRead(address, out NvmeCommand command))
        {
            Fatal($"SQ{sq.Id} entry fetch", address);
            return;
        }

        sq.Head = (sq.Head + 1) % sq.Size;
        var slot = AllocateSlot(sq);
        slot.Command = command;
        slot.Kind = Classify(sq.Id, command.Opcode);
        Statistics.Count(slot.Kind);
        long delay = Delay(slot.Kind, in command);
        if (_log.IsEnabled(LogLevel.Trace))
        {
            NvmeLog.Submit(_log, sq.Id, command.Cid, command.Opcode, command.Nsid, _scheduler.Now + delay);
        }

        if (_options.Latency.ZeroLatency)
        {
            Execute(slot);
        }
        else
        {
            slot.Timer.ArmAfter(delay);
        }
    }

    private CommandSlot AllocateSlot(SubmissionQueue sq)
    {
        var slot = _slots[_freeSlots.Pop()];
        slot.InUse = true;
        slot.Sq = sq;
        slot.CqId = sq.CqId;
        sq.Outstanding++;
        Statistics.Started();
        return slot;
    }

    private void FreeSlot(CommandSlot slot)
    {
        slot.Timer.Cancel();
        slot.InUse = false;
        if (slot.Sq != null)
        {
            slot.Sq.Outstanding--;
        }

        slot.Sq = null;
        Statistics.Outstanding--;
        _freeSlots.Push(slot.Index);
    }

    private void OnCommandDue(CommandSlot slot)
    {
        if (slot.InUse)
        {
            Execute(slot);
        }
    }

    private void Execute(CommandSlot slot)
    {
        uint dw0 = 0;
        ushort status = slot.Sq!.Id == 0 ? ExecuteAdmin(slot, ref dw0) : ExecuteIo(in slot.Command);
        if (status == HeldStatus)
        {
            // An AER: held without a completion until an event occurs.
            FreeSlot(slot);
            DeliverAsyncEvents();
            ProcessSubmissions();
            return;
        }

        Complete(slot, status, dw0);
    }

    /// <summary>Posts the command's completion, or queues it behind a full CQ.</summary>
    private void Complete(CommandSlot slot, ushort status, uint dw0)
    {
        slot.Status = status;
        slot.Dw0 = dw0;
        if (!NvmeStatus.IsSuccess(status))
        {
            Statistics.Errors++;
            RecordError(slot, status);
        }

        var cq = _cqs[slot.CqId];
        if (cq == null || !IsReady)
        {
            FreeSlot(slot);
            return;
        }

        if (cq.Waiting.Count > 0 || cq.IsFull)
        {
            cq.Waiting.Enqueue(slot.Index);
            return;
        }

        if (Post(cq, slot))
        {
            RaiseInterrupt(cq);
            TryFinishShutdown();
            ProcessSubmissions();
        }
    }

    private bool Post(CompletionQueue cq, CommandSlot slot)
    {
        var sq = slot.Sq;
        var entry = new NvmeCompletion
        {
            Dw0 = slot.Dw0,
            SqHead = (ushort)(sq?.Head ?? 0),
            SqId = sq?.Id ?? 0,
            Cid = slot.Command.Cid,
            StatusAndPhase = (ushort)((slot.Status << 1) | (cq.Phase ? 1 : 0)),
        };
        ulong address = cq.Base + ((ulong)cq.Tail * NvmeCompletion.Size);
        if (!Dma.TryWrite(address, in entry))
        {
            Fatal($"CQ{cq.Id} entry post", address);
            return false;
        }

        if (_log.IsEnabled(LogLevel.Trace))
        {
            NvmeLog.Complete(_log, entry.SqId, entry.Cid, cq.Id, NvmeStatus.Describe(slot.Status));
        }

        cq.Tail++;
        if (cq.Tail == cq.Size)
        {
            cq.Tail = 0;
            cq.Phase = !cq.Phase;
        }

        Statistics.CompletionsPosted++;
        FreeSlot(slot);
        return true;
    }

    /// <summary>Posts completions that waited for room after the host moved the CQ head.</summary>
    private void DrainWaiting(CompletionQueue cq)
    {
        bool posted = false;
        while (cq.Waiting.Count > 0 && !cq.IsFull && IsReady)
        {
            var slot = _slots[cq.Waiting.Dequeue()];
            if (!Post(cq, slot))
            {
                return;
            }

            posted = true;
        }

        if (posted)
        {
            RaiseInterrupt(cq);
            TryFinishShutdown();
        }
    }

    private void RaiseInterrupt(CompletionQueue cq)
    {
        if (!cq.InterruptsEnabled || Msix == null)
        {
            return;
        }

        if (Msix.Enabled)
        {
            Statistics.Interrupts++;
            NvmeLog.Interrupt(_log, cq.Id, cq.Vector);
            Msix.Notify(cq.Vector);
        }
    }

    private void CancelAllCommands()
    {
        foreach (var cq in _cqs)
        {
            cq?.Waiting.Clear();
        }

        foreach (var slot in _slots)
        {
            if (slot.InUse)
            {
                FreeSlot(slot);
            }
        }
    }

    // ---------------------------------------------------------------- latency model

    private static NvmeCommandKind Classify(ushort sqid, byte opcode) => sqid == 0
        ? NvmeCommandKind.Admin
        : opcode switch
        {
            NvmOpcode.Read => NvmeCommandKind.Read,
            NvmOpcode.Write => NvmeCommandKind.Write,
            NvmOpcode.Flush => NvmeCommandKind.Flush,
            NvmOpcode.WriteZeroes => NvmeCommandKind.WriteZeroes,
            NvmOpcode.DatasetManagement => NvmeCommandKind.DatasetManagement,
            _ => NvmeCommandKind.Other,
        };

    /// <summary>
    /// Virtual time until the command completes: media time on the unit its first LBA maps to (queued behind
    /// earlier work on that unit), plus controller overhead and transfer time.
    /// </summary>
    private long Delay(NvmeCommandKind kind, in NvmeCommand command)
    {
        var l = _options.Latency;
        if (l.ZeroLatency)
        {
            return 0;
        }

        long media;
        long bytes = 0;
        switch (kind)
        {
            case NvmeCommandKind.Read:
                media = l.ReadNs;
                bytes = (long)((command.Cdw12 & 0xFFFF) + 1) << _lbaShift;
                break;
            case NvmeCommandKind.Write:
                media = l.WriteNs;
                bytes = (long)((command.Cdw12 & 0xFFFF) + 1) << _lbaShift;
                break;
            case NvmeCommandKind.WriteZeroes:
                media = l.WriteNs;
                break;
            case NvmeCommandKind.Flush:
                return l.FlushNs + l.ControllerOverheadNs;
            case NvmeCommandKind.Admin:
                return l.AdminNs;
            default:
                return l.ControllerOverheadNs;
        }

        ulong slba = ((ulong)command.Cdw11 << 32) | command.Cdw10;
        int unit = (int)(((slba << _lbaShift) / MinPageSize) % (ulong)_unitFreeAt.Length);
        long now = _scheduler.Now;
        long start = Math.Max(now, _unitFreeAt[unit]);
        _unitFreeAt[unit] = start + media;
        long transfer = (bytes + MinPageSize - 1) / MinPageSize * l.TransferNsPer4KiB;
        return start - now + media + l.ControllerOverheadNs + transfer;
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>A guest mistake: a log line in the machine's guest-error log, never an exception.</summary>
    private void GuestError(string message) => GuestErrors.Report($"{Address} {Name}", message);

    private int MaxSegmentsFor(int pageSize) => (_maxTransfer / pageSize) + 2;

    private static ulong RoundUp(ulong value, ulong to) => (value + to - 1) / to * to;

    private static ulong RoundUpPow2(ulong value)
    {
        ulong p = 1;
        while (p < value)
        {
            p <<= 1;
        }

        return p;
    }

    /// <summary>A status value no completion carries: the command is held (AER).</summary>
    private const ushort HeldStatus = 0xFFFF;

    private sealed class CommandSlot(int index)
    {
        public int Index { get; } = index;

        public VirtualTimer Timer { get; set; } = null!;

        public bool InUse { get; set; }

        public NvmeCommand Command;

        public NvmeCommandKind Kind { get; set; }

        public SubmissionQueue? Sq { get; set; }

        public ushort CqId { get; set; }

        public ushort Status { get; set; }

        public uint Dw0 { get; set; }
    }

    private readonly record struct ErrorLogEntry(long ErrorCount, ushort SqId, ushort Cid, ushort Status, uint Nsid, ulong Lba);

    private sealed class RegisterWindow(NvmeController owner) : IMmioDevice
    {
        public void Read(ulong offset, Span<byte> data) => owner.ReadRegisters(offset, data);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => owner.WriteRegisters(offset, data);
    }

    private sealed class DoorbellWindow(NvmeController owner) : IMmioDevice
    {
        /// <summary>Doorbells are write-only; a read returns zero (vendor specific, NVMe 1.4 §3.1.24).</summary>
        public void Read(ulong offset, Span<byte> data) => data.Clear();

        public void Write(ulong offset, ReadOnlySpan<byte> data) => owner.WriteDoorbell(offset, data);
    }
}

/// <summary>BAR0 layout: registers at 0, doorbells, MSI-X table and PBA (each 4 KiB aligned).</summary>
public sealed record NvmeBarLayout(ulong Size, ulong DoorbellOffset, ulong DoorbellBytes, ulong MsixTableOffset, ulong MsixPbaOffset);
