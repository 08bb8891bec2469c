using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Devices.Nvme.Spec;

namespace ManagedVmm.Devices.Nvme;

/// <summary>CAP decoded.</summary>
public sealed record NvmeCapSnapshot(ulong Raw, int Mqes, bool Cqr, int TimeoutUnits, int Dstrd, bool CssNvm, int MpsMin, int MpsMax);

/// <summary>CC decoded.</summary>
public sealed record NvmeCcSnapshot(uint Raw, bool En, int Css, int Mps, int Ams, int Shn, int Iosqes, int Iocqes);

/// <summary>CSTS decoded; SHST as 0 normal, 1 in progress, 2 complete.</summary>
public sealed record NvmeCstsSnapshot(uint Raw, bool Rdy, bool Cfs, int Shst);

public sealed record NvmeRegistersSnapshot(
    NvmeCapSnapshot Cap, string Version, uint Intms, NvmeCcSnapshot Cc, NvmeCstsSnapshot Csts, int AdminSqEntries, int AdminCqEntries, ulong Asq, ulong Acq);

public sealed record NvmeSubmissionQueueSnapshot(int Id, ulong Base, int Size, int Head, int Tail, int CqId, int Outstanding);

public sealed record NvmeCompletionQueueSnapshot(int Id, ulong Base, int Size, int Head, int Tail, bool Phase, int Vector, bool InterruptsEnabled, int Waiting);

public sealed record NvmeNamespaceSnapshot(uint Nsid, ulong Blocks, int LbaSize, bool ReadOnly, string Backend);

/// <summary>
/// A read-only picture of the controller for <c>managedvmm inspect</c> (text through <see cref="ToText"/>, JSON
/// through System.Text.Json on the record itself): registers decoded, queues with head/tail/phase, the
/// namespace, held AERs and statistics.
/// </summary>
public sealed record NvmeControllerSnapshot(
    string Address,
    long VirtualTimeNs,
    NvmeRegistersSnapshot Registers,
    IReadOnlyList<NvmeSubmissionQueueSnapshot> SubmissionQueues,
    IReadOnlyList<NvmeCompletionQueueSnapshot> CompletionQueues,
    NvmeNamespaceSnapshot Namespace,
    int HeldAsyncEventRequests,
    int PendingAsyncEvents,
    long ErrorLogCount,
    NvmeStatisticsSnapshot Statistics)
{
    public string ToText()
    {
        var r = Registers;
        var sb = new StringBuilder();
        sb.AppendLine($"NVMe controller {Address} (t={VirtualTimeNs} ns)");
        sb.AppendLine($"  CAP  0x{r.Cap.Raw:x16}: MQES={r.Cap.Mqes} CQR={B(r.Cap.Cqr)} TO={r.Cap.TimeoutUnits} DSTRD={r.Cap.Dstrd} CSS.NVM={B(r.Cap.CssNvm)} MPSMIN={r.Cap.MpsMin} MPSMAX={r.Cap.MpsMax}");
        sb.AppendLine($"  VS   {r.Version}");
        sb.AppendLine($"  CC   0x{r.Cc.Raw:x8}: EN={B(r.Cc.En)} CSS={r.Cc.Css} MPS={r.Cc.Mps} AMS={r.Cc.Ams} SHN={r.Cc.Shn} IOSQES={r.Cc.Iosqes} IOCQES={r.Cc.Iocqes}");
        sb.AppendLine($"  CSTS 0x{r.Csts.Raw:x8}: RDY={B(r.Csts.Rdy)} CFS={B(r.Csts.Cfs)} SHST={r.Csts.Shst}");
        sb.AppendLine($"  AQA  ASQS={r.AdminSqEntries} ACQS={r.AdminCqEntries}  ASQ 0x{r.Asq:x}  ACQ 0x{r.Acq:x}  INTMS 0x{r.Intms:x}");
        foreach (var q in SubmissionQueues)
        {
            sb.AppendLine($"  SQ{q.Id}: base 0x{q.Base:x} size {q.Size} head {q.Head} tail {q.Tail} cq {q.CqId} outstanding {q.Outstanding}");
        }

        foreach (var q in CompletionQueues)
        {
            sb.AppendLine($"  CQ{q.Id}: base 0x{q.Base:x} size {q.Size} head {q.Head} tail {q.Tail} phase {(q.Phase ? 1 : 0)} vector {q.Vector} ien {B(q.InterruptsEnabled)} waiting {q.Waiting}");
        }

        var n = Namespace;
        sb.AppendLine($"  NS{n.Nsid}: {n.Blocks} blocks of {n.LbaSize} B{(n.ReadOnly ? ", read-only" : string.Empty)}, {n.Backend}");
        sb.AppendLine($"  AER held {HeldAsyncEventRequests}, events pending {PendingAsyncEvents}, error log entries {ErrorLogCount}");
        var s = Statistics;
        sb.AppendLine($"  commands: read {s.Reads} write {s.Writes} flush {s.Flushes} write-zeroes {s.WriteZeroes} dsm {s.DatasetManagement} admin {s.Admin} other {s.Other} errors {s.Errors}");
        sb.AppendLine($"  bytes read {s.BytesRead} written {s.BytesWritten}; DMA faults data {s.DataDmaFaults} fatal {s.FatalDmaFaults}; outstanding {s.Outstanding} (peak {s.PeakOutstanding})");
        sb.Append($"  doorbells {s.Doorbells} completions {s.CompletionsPosted} interrupts {s.Interrupts} controller resets {s.ControllerResets}");
        return sb.ToString();
    }

    private static string B(bool b) => b ? "1" : "0";
}

public sealed partial class NvmeController : IStateReporter
{
    /// <summary>The heading of the controller's state in <c>managedvmm inspect</c>.</summary>
    public string StateName => "nvme";

    /// <summary>The snapshot (registers decoded, queues, namespace, statistics) as a JSON tree, for inspect and state dumps.</summary>
    public JsonObject CaptureState() => JsonSerializer.SerializeToNode(Snapshot())!.AsObject();

    /// <summary>The controller's state now, decoded (allocates: for inspection, not hot paths).</summary>
    public NvmeControllerSnapshot Snapshot()
    {
        var cap = new NvmeCapSnapshot(
            _cap,
            (int)(_cap & Cap.MqesMask),
            (_cap & Cap.Cqr) != 0,
            (int)((_cap >> Cap.ToShift) & 0xFF),
            (int)((_cap >> Cap.DstrdShift) & 0xF),
            (_cap & Cap.CssNvm) != 0,
            (int)((_cap >> Cap.MpsMinShift) & 0xF),
            (int)((_cap >> Cap.MpsMaxShift) & 0xF));
        var cc = new NvmeCcSnapshot(
            _cc,
            (_cc & Spec.Cc.En) != 0,
            (int)((_cc >> Spec.Cc.CssShift) & Spec.Cc.CssMask),
            (int)((_cc >> Spec.Cc.MpsShift) & Spec.Cc.MpsMask),
            (int)((_cc >> Spec.Cc.AmsShift) & Spec.Cc.AmsMask),
            (int)((_cc >> Spec.Cc.ShnShift) & Spec.Cc.ShnMask),
            (int)((_cc >> Spec.Cc.IosqesShift) & Spec.Cc.IosqesMask),
            (int)((_cc >> Spec.Cc.IocqesShift) & Spec.Cc.IocqesMask));
        var csts = new NvmeCstsSnapshot(_csts, (_csts & Spec.Csts.Rdy) != 0, (_csts & Spec.Csts.Cfs) != 0, (int)((_csts & Spec.Csts.ShstMask) >> Spec.Csts.ShstShift));
        var regs = new NvmeRegistersSnapshot(
            cap,
            $"{NvmeReg.Version14 >> 16}.{(NvmeReg.Version14 >> 8) & 0xFF}.{NvmeReg.Version14 & 0xFF}",
            _intms,
            cc,
            csts,
            (int)(_aqa & Aqa.AsqsMask) + 1,
            (int)((_aqa >> Aqa.AcqsShift) & Aqa.AsqsMask) + 1,
            _asq,
            _acq);
        var sqs = new List<NvmeSubmissionQueueSnapshot>();
        foreach (var q in _sqs)
        {
            if (q != null)
            {
                sqs.Add(new NvmeSubmissionQueueSnapshot(q.Id, q.Base, q.Size, q.Head, q.Tail, q.CqId, q.Outstanding));
            }
        }

        var cqs = new List<NvmeCompletionQueueSnapshot>();
        foreach (var q in _cqs)
        {
            if (q != null)
            {
                cqs.Add(new NvmeCompletionQueueSnapshot(q.Id, q.Base, q.Size, q.Head, q.Tail, q.Phase, q.Vector, q.InterruptsEnabled, q.Waiting.Count));
            }
        }

        var ns = new NvmeNamespaceSnapshot(NamespaceId, _nsze, 1 << _lbaShift, _backend.IsReadOnly, _backend.Description);
        return new NvmeControllerSnapshot(
            IsPlaced ? Address.ToString() : "(not placed)",
            _scheduler.Now,
            regs,
            sqs,
            cqs,
            ns,
            _aerCount,
            _pendingEvents.Count,
            _errorCount,
            Statistics.Snapshot());
    }
}
