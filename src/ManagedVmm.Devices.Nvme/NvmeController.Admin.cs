using System.Buffers.Binary;
using System.Text;
using ManagedVmm.Devices.Nvme.Spec;

namespace ManagedVmm.Devices.Nvme;

/// <summary>The admin command set (NVMe 1.4 §5), checked in the order QEMU checks (reference nvme.md §3, §6).</summary>
public sealed partial class NvmeController
{
    /// <summary>WCTEMP: 343 K (70 °C), QEMU's default; also the default temperature threshold.</summary>
    private const uint WarningTemperatureKelvin = 343;

    /// <summary>CCTEMP: 373 K (100 °C).</summary>
    private const uint CriticalTemperatureKelvin = 373;

    /// <summary>The composite temperature the SMART log reports: a constant 310 K (37 °C).</summary>
    private const ushort CompositeTemperatureKelvin = 310;

    private ushort ExecuteAdmin(CommandSlot slot, ref uint dw0)
    {
        ref readonly var cmd = ref slot.Command;
        if (cmd.Psdt != 0 || cmd.Fuse != 0)
        {
            // SGLs are never used on the admin queue; fused operations are not supported (QEMU: Invalid Field).
            return NvmeStatus.InvalidField | NvmeStatus.Dnr;
        }

        return cmd.Opcode switch
        {
            AdminOpcode.DeleteIoSq => DeleteIoSq(in cmd),
            AdminOpcode.CreateIoSq => CreateIoSq(in cmd),
            AdminOpcode.GetLogPage => GetLogPage(in cmd),
            AdminOpcode.DeleteIoCq => DeleteIoCq(in cmd),
            AdminOpcode.CreateIoCq => CreateIoCq(in cmd),
            AdminOpcode.Identify => Identify(in cmd),
            AdminOpcode.Abort => Abort(in cmd, ref dw0),
            AdminOpcode.SetFeatures => SetFeatures(in cmd, ref dw0),
            AdminOpcode.GetFeatures => GetFeatures(in cmd, ref dw0),
            AdminOpcode.AsyncEventRequest => AsyncEventRequest(in cmd),
            _ => NvmeStatus.InvalidOpcode | NvmeStatus.Dnr,
        };
    }

    // ---------------------------------------------------------------- queues

    private bool IoEntrySizesValid =>
        ((_cc >> Cc.IosqesShift) & Cc.IosqesMask) == Cc.SqEntrySizeLog2 && ((_cc >> Cc.IocqesShift) & Cc.IocqesMask) == Cc.CqEntrySizeLog2;

    private ushort CreateIoCq(in NvmeCommand cmd)
    {
        int qid = (int)(cmd.Cdw10 & 0xFFFF);
        int qsize = (int)(cmd.Cdw10 >> 16);
        int vector = (int)(cmd.Cdw11 >> 16);
        bool ien = (cmd.Cdw11 & 0x2) != 0;
        bool pc = (cmd.Cdw11 & 0x1) != 0;
        if (!IoEntrySizesValid)
        {
            return NvmeStatus.InvalidQueueSize | NvmeStatus.Dnr;
        }

        if (qid == 0 || qid >= _cqs.Length || _cqs[qid] != null)
        {
            return NvmeStatus.InvalidQueueIdentifier | NvmeStatus.Dnr;
        }

        if (qsize == 0 || qsize > _options.MaxQueueEntries - 1)
        {
            return NvmeStatus.InvalidQueueSize | NvmeStatus.Dnr;
        }

        if ((cmd.Prp1 & (ulong)(_pageSize - 1)) != 0)
        {
            return NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr;
        }

        if (vector >= _vectors || (vector != 0 && Msix?.Enabled != true))
        {
            return NvmeStatus.InvalidInterruptVector | NvmeStatus.Dnr;
        }

        if (!pc)
        {
            return NvmeStatus.InvalidField | NvmeStatus.Dnr;
        }

        _cqs[qid] = new CompletionQueue((ushort)qid, cmd.Prp1, qsize + 1, vector, ien);
        return NvmeStatus.Success;
    }

    private ushort CreateIoSq(in NvmeCommand cmd)
    {
        int qid = (int)(cmd.Cdw10 & 0xFFFF);
        int qsize = (int)(cmd.Cdw10 >> 16);
        int cqid = (int)(cmd.Cdw11 >> 16);
        bool pc = (cmd.Cdw11 & 0x1) != 0;
        if (!IoEntrySizesValid)
        {
            return NvmeStatus.InvalidQueueSize | NvmeStatus.Dnr;
        }

        if (cqid == 0 || cqid >= _cqs.Length || _cqs[cqid] == null)
        {
            return NvmeStatus.CompletionQueueInvalid | NvmeStatus.Dnr;
        }

        if (qid == 0 || qid >= _sqs.Length || _sqs[qid] != null)
        {
            return NvmeStatus.InvalidQueueIdentifier | NvmeStatus.Dnr;
        }

        if (qsize == 0 || qsize > _options.MaxQueueEntries - 1)
        {
            return NvmeStatus.InvalidQueueSize | NvmeStatus.Dnr;
        }

        if ((cmd.Prp1 & (ulong)(_pageSize - 1)) != 0)
        {
            return NvmeStatus.InvalidPrpOffset | NvmeStatus.Dnr;
        }

        if (!pc)
        {
            return NvmeStatus.InvalidField | NvmeStatus.Dnr;
        }

        var cq = _cqs[cqid]!;
        cq.SqCount++;
        _sqs[qid] = new SubmissionQueue((ushort)qid, cmd.Prp1, qsize + 1, (ushort)cqid);
        return NvmeStatus.Success;
    }

    private ushort DeleteIoSq(in NvmeCommand cmd)
    {
        int qid = (int)(cmd.Cdw10 & 0xFFFF);
        if (qid == 0 || qid >= _sqs.Length || _sqs[qid] == null)
        {
            return NvmeStatus.InvalidQueueIdentifier | NvmeStatus.Dnr;
        }

        var sq = _sqs[qid]!;

        // Commands of this SQ still in flight complete with Aborted due to SQ Deletion before the SQ goes.
        foreach (var slot in _slots)
        {
            if (slot.InUse && slot.Sq == sq && slot.Timer.IsArmed)
            {
                slot.Timer.Cancel();
                Complete(slot, NvmeStatus.AbortedSqDeletion, 0);
            }
        }

        _sqs[qid] = null;
        if (_cqs[sq.CqId] is { } cq)
        {
            cq.SqCount--;
        }

        return NvmeStatus.Success;
    }

    private ushort DeleteIoCq(in NvmeCommand cmd)
    {
        int qid = (int)(cmd.Cdw10 & 0xFFFF);
        if (qid == 0 || qid >= _cqs.Length || _cqs[qid] == null)
        {
            return NvmeStatus.InvalidQueueIdentifier | NvmeStatus.Dnr;
        }

        var cq = _cqs[qid]!;
        if (cq.SqCount > 0)
        {
            return NvmeStatus.InvalidQueueDeletion | NvmeStatus.Dnr;
        }

        while (cq.Waiting.Count > 0)
        {
            FreeSlot(_slots[cq.Waiting.Dequeue()]);
        }

        _cqs[qid] = null;
        return NvmeStatus.Success;
    }

    // ---------------------------------------------------------------- Identify

    private ushort Identify(in NvmeCommand cmd)
    {
        byte cns = (byte)(cmd.Cdw10 & 0xFF);
        var data = _buffer.AsSpan(0, IdentifyCns.DataSize);
        data.Clear();
        switch (cns)
        {
            case IdentifyCns.Namespace:
                if (cmd.Nsid == 0 || cmd.Nsid == BroadcastNsid)
                {
                    return NvmeStatus.InvalidNamespaceOrFormat | NvmeStatus.Dnr;
                }

                if (cmd.Nsid == NamespaceId)
                {
                    FillIdentifyNamespace(data);
                }

                // Any other NSID is inactive: a zero-filled structure (QEMU).
                break;
            case IdentifyCns.Controller:
                FillIdentifyController(data);
                break;
            case IdentifyCns.ActiveNamespaceList:
                if (cmd.Nsid >= 0xFFFF_FFFE)
                {
                    return NvmeStatus.InvalidNamespaceOrFormat | NvmeStatus.Dnr;
                }

                if (cmd.Nsid < NamespaceId)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(data, NamespaceId);
                }

                break;
            case IdentifyCns.NamespaceDescriptorList:
                if (cmd.Nsid != NamespaceId)
                {
                    return NvmeStatus.InvalidNamespaceOrFormat | NvmeStatus.Dnr;
                }

                data[0] = IdentifyCns.NidtNguid;
                data[1] = 16;
                Nguid(data.Slice(4, 16));
                break;
            default:
                return NvmeStatus.InvalidField | NvmeStatus.Dnr;
        }

        return TransferToHost(in cmd, IdentifyCns.DataSize);
    }

    private void FillIdentifyController(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(d[IdentifyOffsets.CtrlVid..], VendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(d[IdentifyOffsets.CtrlSsvid..], 0x1AF4);
        Ascii(d.Slice(IdentifyOffsets.CtrlSn, 20), _options.Serial);
        Ascii(d.Slice(IdentifyOffsets.CtrlMn, 40), _options.Model);
        Ascii(d.Slice(IdentifyOffsets.CtrlFr, 8), _options.FirmwareRevision);
        d[IdentifyOffsets.CtrlRab] = 6;
        d[IdentifyOffsets.CtrlMdts] = (byte)_options.Mdts;
        BinaryPrimitives.WriteUInt32LittleEndian(d[IdentifyOffsets.CtrlVer..], NvmeReg.Version14);
        d[IdentifyOffsets.CtrlCntrltype] = IdentifyOffsets.ControllerTypeIo;
        d[IdentifyOffsets.CtrlAcl] = AbortLimit - 1;
        d[IdentifyOffsets.CtrlAerl] = AerLimit - 1;
        d[IdentifyOffsets.CtrlFrmw] = 0x03; // slot 1 read-only, one slot
        d[IdentifyOffsets.CtrlLpa] = 0x04; // extended data for Get Log Page (NUMDU, LPO)
        d[IdentifyOffsets.CtrlElpe] = ErrorLogEntries - 1;
        BinaryPrimitives.WriteUInt16LittleEndian(d[IdentifyOffsets.CtrlWctemp..], (ushort)WarningTemperatureKelvin);
        BinaryPrimitives.WriteUInt16LittleEndian(d[IdentifyOffsets.CtrlCctemp..], (ushort)CriticalTemperatureKelvin);
        d[IdentifyOffsets.CtrlSqes] = 0x66;
        d[IdentifyOffsets.CtrlCqes] = 0x44;
        BinaryPrimitives.WriteUInt16LittleEndian(d[IdentifyOffsets.CtrlMaxcmd..], MaxOutstandingCommands);
        BinaryPrimitives.WriteUInt32LittleEndian(d[IdentifyOffsets.CtrlNn..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(d[IdentifyOffsets.CtrlOncs..], IdentifyOffsets.OncsDsm | IdentifyOffsets.OncsWriteZeroes);
        d[IdentifyOffsets.CtrlVwc] = IdentifyOffsets.VwcPresentWithBroadcastFlush;
        Ascii(d.Slice(IdentifyOffsets.CtrlSubnqn, 256), "nqn.2024-01.dev.managedvmm:nvme:" + _options.Serial, pad: 0);
        BinaryPrimitives.WriteUInt16LittleEndian(d[IdentifyOffsets.CtrlPsd0..], 2500); // PSD0.MP: 25 W in 0.01 W units
    }

    private void FillIdentifyNamespace(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(d[IdentifyOffsets.NsNsze..], _nsze);
        BinaryPrimitives.WriteUInt64LittleEndian(d[IdentifyOffsets.NsNcap..], _nsze);
        BinaryPrimitives.WriteUInt64LittleEndian(d[IdentifyOffsets.NsNuse..], _nsze);
        d[IdentifyOffsets.NsNlbaf] = 1; // two formats: 512 B and 4 KiB, no metadata
        d[IdentifyOffsets.NsFlbas] = (byte)(_lbaShift == 12 ? 1 : 0);
        d[IdentifyOffsets.NsNsattr] = _backend.IsReadOnly ? IdentifyOffsets.NsattrWriteProtected : (byte)0;
        Nguid(d.Slice(IdentifyOffsets.NsNguid, 16));
        d[IdentifyOffsets.NsLbaf0 + 2] = 9;
        d[IdentifyOffsets.NsLbaf0 + 4 + 2] = 12;
    }

    /// <summary>A namespace GUID derived from the serial number (FNV-1a), stable across runs.</summary>
    private void Nguid(Span<byte> d)
    {
        ulong h = 0xCBF2_9CE4_8422_2325;
        foreach (char c in _options.Serial)
        {
            h = (h ^ c) * 0x0100_0000_01B3;
        }

        BinaryPrimitives.WriteUInt64BigEndian(d, h);
        BinaryPrimitives.WriteUInt64BigEndian(d[8..], h * 0x9E37_79B9_7F4A_7C15);
    }

    private static void Ascii(Span<byte> field, string text, byte pad = (byte)' ')
    {
        field.Fill(pad);
        Encoding.ASCII.GetBytes(text.AsSpan(0, Math.Min(text.Length, field.Length)), field);
    }

    // ---------------------------------------------------------------- features

    private ushort SetFeatures(in NvmeCommand cmd, ref uint dw0)
    {
        byte fid = (byte)(cmd.Cdw10 & 0xFF);
        if ((cmd.Cdw10 & FeatureId.SaveBit) != 0)
        {
            return NvmeStatus.FeatureNotSaveable | NvmeStatus.Dnr;
        }

        uint v = cmd.Cdw11;
        switch (fid)
        {
            case FeatureId.Arbitration:
                _featArbitration = v;
                break;
            case FeatureId.PowerManagement:
                if ((v & 0x1F) != 0)
                {
                    return NvmeStatus.InvalidField | NvmeStatus.Dnr; // NPSS = 0: only power state 0
                }

                _featPowerManagement = v & 0xFF;
                break;
            case FeatureId.TemperatureThreshold:
                _featTemperatureThreshold = v & 0xFFFF;
                break;
            case FeatureId.ErrorRecovery:
                _featErrorRecovery = v & 0xFFFF;
                break;
            case FeatureId.VolatileWriteCache:
                _featVolatileWriteCache = v & 1;
                break;
            case FeatureId.NumberOfQueues:
                if ((v & 0xFFFF) == 0xFFFF || (v >> 16) == 0xFFFF)
                {
                    return NvmeStatus.InvalidField | NvmeStatus.Dnr;
                }

                for (int q = 1; q < _cqs.Length; q++)
                {
                    if (_cqs[q] != null)
                    {
                        return NvmeStatus.CommandSequenceError | NvmeStatus.Dnr;
                    }
                }

                dw0 = NumberOfQueuesValue;
                break;
            case FeatureId.InterruptCoalescing:
                _featInterruptCoalescing = v & 0xFFFF;
                break;
            case FeatureId.InterruptVectorConfiguration:
                int iv = (int)(v & 0xFFFF);
                if (iv >= _vectors)
                {
                    return NvmeStatus.InvalidField | NvmeStatus.Dnr;
                }

                _vectorCoalescingDisabled[iv] = (v & 0x1_0000) != 0;
                break;
            case FeatureId.WriteAtomicityNormal:
                break;
            case FeatureId.AsyncEventConfiguration:
                _featAsyncEventConfig = v;
                break;
            default:
                return NvmeStatus.InvalidField | NvmeStatus.Dnr;
        }

        return NvmeStatus.Success;
    }

    private uint NumberOfQueuesValue => (uint)(_options.MaxIoQueuePairs - 1) | ((uint)(_options.MaxIoQueuePairs - 1) << 16);

    private ushort GetFeatures(in NvmeCommand cmd, ref uint dw0)
    {
        byte fid = (byte)(cmd.Cdw10 & 0xFF);
        int sel = (int)((cmd.Cdw10 >> FeatureId.SelShift) & 0x7);
        if (sel > 3)
        {
            return NvmeStatus.InvalidField | NvmeStatus.Dnr;
        }

        bool current = sel == 0;
        uint? value = fid switch
        {
            FeatureId.Arbitration => current ? _featArbitration : 0,
            FeatureId.PowerManagement => current ? _featPowerManagement : 0,
            FeatureId.TemperatureThreshold => current ? _featTemperatureThreshold : WarningTemperatureKelvin,
            FeatureId.ErrorRecovery => current ? _featErrorRecovery : 0,
            FeatureId.VolatileWriteCache => current ? _featVolatileWriteCache : 1,
            FeatureId.NumberOfQueues => NumberOfQueuesValue,
            FeatureId.InterruptCoalescing => current ? _featInterruptCoalescing : 0,
            FeatureId.InterruptVectorConfiguration => (cmd.Cdw11 & 0xFFFF) < (uint)_vectors
                ? (cmd.Cdw11 & 0xFFFF) | (current && _vectorCoalescingDisabled[cmd.Cdw11 & 0xFFFF] ? 0x1_0000u : 0)
                : null,
            FeatureId.WriteAtomicityNormal => 0,
            FeatureId.AsyncEventConfiguration => current ? _featAsyncEventConfig : 0,
            _ => null,
        };
        if (value == null)
        {
            return NvmeStatus.InvalidField | NvmeStatus.Dnr;
        }

        // SEL 3 (supported capabilities): changeable (bit 2), neither saveable nor namespace specific.
        dw0 = sel == 3 ? 0x4u : value.Value;
        return NvmeStatus.Success;
    }

    // ---------------------------------------------------------------- logs

    private ushort GetLogPage(in NvmeCommand cmd)
    {
        byte lid = (byte)(cmd.Cdw10 & 0xFF);
        bool rae = (cmd.Cdw10 & LogPageId.RaeBit) != 0;
        ulong numd = (cmd.Cdw10 >> 16) | ((ulong)(cmd.Cdw11 & 0xFFFF) << 16);
        ulong length = (numd + 1) * 4;
        ulong offset = cmd.Cdw12 | ((ulong)cmd.Cdw13 << 32);
        int size = lid switch
        {
            LogPageId.ErrorInformation => ErrorLogEntries * LogPageId.ErrorEntrySize,
            LogPageId.SmartHealth => LogPageId.SmartSize,
            LogPageId.FirmwareSlot => LogPageId.FirmwareSlotSize,
            _ => -1,
        };
        if (size < 0)
        {
            return NvmeStatus.InvalidLogPage | NvmeStatus.Dnr;
        }

        if ((offset & 3) != 0 || offset > (ulong)size || length > (ulong)_maxTransfer)
        {
            return NvmeStatus.InvalidField | NvmeStatus.Dnr;
        }

        var page = _buffer.AsSpan(0, size);
        page.Clear();
        switch (lid)
        {
            case LogPageId.ErrorInformation:
                FillErrorLog(page);
                break;
            case LogPageId.SmartHealth:
                FillSmartLog(page);
                break;
            case LogPageId.FirmwareSlot:
                page[0] = 1; // AFI: slot 1 active
                Ascii(page.Slice(8, 8), _options.FirmwareRevision);
                break;
        }

        if (!rae)
        {
            _maskedEventTypes &= ~(1 << (lid == LogPageId.SmartHealth ? AsyncEvent.TypeSmart : AsyncEvent.TypeError));
            DeliverAsyncEvents();
        }

        int count = (int)Math.Min(length, (ulong)size - offset);
        if (offset != 0)
        {
            _buffer.AsSpan((int)offset, count).CopyTo(_buffer);
        }

        return TransferToHost(in cmd, count);
    }

    private void FillSmartLog(Span<byte> p)
    {
        var s = Statistics;
        p[0] = _backend.IsReadOnly ? (byte)0x08 : (byte)0; // critical warning bit 3: media read-only
        BinaryPrimitives.WriteUInt16LittleEndian(p[1..], CompositeTemperatureKelvin);
        p[3] = 100; // available spare %
        p[4] = 10; // available spare threshold %
        // Data units are thousands of 512-byte units, rounded up (NVMe 1.4 Figure 194).
        BinaryPrimitives.WriteUInt64LittleEndian(p[32..], (ulong)((s.BytesRead / 512) + 999) / 1000);
        BinaryPrimitives.WriteUInt64LittleEndian(p[48..], (ulong)((s.BytesWritten / 512) + 999) / 1000);
        BinaryPrimitives.WriteUInt64LittleEndian(p[64..], (ulong)s.Commands(NvmeCommandKind.Read));
        BinaryPrimitives.WriteUInt64LittleEndian(p[80..], (ulong)s.Commands(NvmeCommandKind.Write));
        BinaryPrimitives.WriteUInt64LittleEndian(p[112..], 1); // power cycles
        BinaryPrimitives.WriteUInt64LittleEndian(p[128..], (ulong)(_scheduler.Now / 3_600_000_000_000L)); // power-on hours
        BinaryPrimitives.WriteUInt64LittleEndian(p[176..], (ulong)_errorCount);
    }

    private void FillErrorLog(Span<byte> p)
    {
        int available = (int)Math.Min(_errorCount, ErrorLogEntries);
        for (int i = 0; i < available; i++)
        {
            // Newest first.
            var e = _errorLog[(int)((_errorCount - 1 - i) % ErrorLogEntries)];
            var entry = p.Slice(i * LogPageId.ErrorEntrySize, LogPageId.ErrorEntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(entry, (ulong)e.ErrorCount);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[8..], e.SqId);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[10..], e.Cid);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[12..], (ushort)(e.Status << 1));
            BinaryPrimitives.WriteUInt16LittleEndian(entry[14..], 0xFFFF); // parameter error location: not reported
            BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], e.Lba);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[24..], e.Nsid);
        }
    }

    private void RecordError(CommandSlot slot, ushort status)
    {
        _errorCount++;
        ref readonly var c = ref slot.Command;
        ulong lba = slot.Sq?.Id != 0 ? ((ulong)c.Cdw11 << 32) | c.Cdw10 : 0;
        _errorLog[(int)((_errorCount - 1) % ErrorLogEntries)] = new ErrorLogEntry(_errorCount, slot.Sq?.Id ?? 0, c.Cid, status, c.Nsid, lba);
    }

    // ---------------------------------------------------------------- abort and asynchronous events

    private ushort Abort(in NvmeCommand cmd, ref uint dw0)
    {
        int sqid = (int)(cmd.Cdw10 & 0xFFFF);
        ushort cid = (ushort)(cmd.Cdw10 >> 16);
        dw0 = 1; // bit 0 set: not aborted
        foreach (var slot in _slots)
        {
            if (slot.InUse && slot.Timer.IsArmed && slot.Sq?.Id == sqid && slot.Command.Cid == cid)
            {
                slot.Timer.Cancel();
                Complete(slot, NvmeStatus.AbortRequested, 0);
                dw0 = 0;
                break;
            }
        }

        return NvmeStatus.Success;
    }

    private ushort AsyncEventRequest(in NvmeCommand cmd)
    {
        if (_aerCount >= AerLimit)
        {
            return NvmeStatus.AsyncEventRequestLimitExceeded | NvmeStatus.Dnr;
        }

        _aerCids[_aerCount++] = cmd.Cid;
        return HeldStatus;
    }

    /// <summary>Queues an asynchronous event (dropped when its type is masked or the queue is full).</summary>
    private void PostAsyncEvent(byte type, byte info, byte logPage)
    {
        if ((_maskedEventTypes & (1 << type)) != 0 || _pendingEvents.Count >= MaxPendingAsyncEvents)
        {
            return;
        }

        _pendingEvents.Enqueue(type | ((uint)info << 8) | ((uint)logPage << 16));
        DeliverAsyncEvents();
    }

    /// <summary>Completes held AERs with queued events; each reported type stays masked until its log is read.</summary>
    private void DeliverAsyncEvents()
    {
        var adminSq = _sqs[0];
        while (_aerCount > 0 && _pendingEvents.Count > 0 && _freeSlots.Count > 0 && adminSq != null && CanProcess)
        {
            uint ev = _pendingEvents.Dequeue();
            int type = (int)(ev & 0x7);
            if ((_maskedEventTypes & (1 << type)) != 0)
            {
                continue;
            }

            _maskedEventTypes |= 1 << type;
            ushort cid = _aerCids[--_aerCount];
            var slot = AllocateSlot(adminSq);
            slot.Command = default;
            slot.Command.Cid = cid;
            slot.Command.Opcode = AdminOpcode.AsyncEventRequest;
            Complete(slot, NvmeStatus.Success, ev);
        }
    }

    /// <summary>Writes <c>_buffer[..length]</c> to the host through the command's PRPs.</summary>
    private ushort TransferToHost(in NvmeCommand cmd, int length) => Transfer(in cmd, length, toHost: true);

    /// <summary>Reads <paramref name="length"/> bytes from the host through the command's PRPs into <c>_buffer</c>.</summary>
    private ushort TransferFromHost(in NvmeCommand cmd, int length) => Transfer(in cmd, length, toHost: false);

    /// <summary>Walks the command's PRPs once, then moves each segment between <c>_buffer</c> and the host.</summary>
    private ushort Transfer(in NvmeCommand cmd, int length, bool toHost)
    {
        ushort status = _prp.Walk(Dma, cmd.Prp1, cmd.Prp2, length, out int count);
        if (status != NvmeStatus.Success)
        {
            CountPrpFault(status, cmd.Prp2);
            return status;
        }

        int done = 0;
        for (int i = 0; i < count; i++)
        {
            var seg = _prp.Segments[i];
            var bytes = _buffer.AsSpan(done, seg.Length);
            if (toHost ? !Dma.TryWrite(seg.Address, bytes) : !Dma.TryRead(seg.Address, bytes))
            {
                return DataFault(toHost ? "data write" : "data read", seg.Address);
            }

            done += seg.Length;
        }

        return NvmeStatus.Success;
    }

    private void CountPrpFault(ushort status, ulong listAddress)
    {
        if (status == NvmeStatus.DataTransferError)
        {
            Statistics.DataDmaFaults++;
            GuestError($"PRP list read at 0x{listAddress:x} failed: Data Transfer Error");
            NvmeLog.DmaFault(_log, "prp list read", listAddress);
        }
    }

    private ushort DataFault(string what, ulong address)
    {
        Statistics.DataDmaFaults++;
        GuestError($"{what} at 0x{address:x} failed: Data Transfer Error");
        NvmeLog.DmaFault(_log, what, address);
        return NvmeStatus.DataTransferError;
    }
}
