namespace ManagedVmm.Devices.Nvme;

/// <summary>The command kinds the statistics and the latency model tell apart.</summary>
public enum NvmeCommandKind
{
    Read,
    Write,
    Flush,
    WriteZeroes,
    DatasetManagement,
    Admin,
    Other,
}

/// <summary>
/// Counters since power-on (not reset by a controller reset, so a run's figures survive the driver's resets).
/// </summary>
public sealed class NvmeStatistics
{
    public const int KindCount = 7;

    private readonly long[] _commands = new long[KindCount];

    public long Commands(NvmeCommandKind kind) => _commands[(int)kind];

    public long CommandsTotal { get; private set; }

    /// <summary>Completions with a non-success status.</summary>
    public long Errors { get; internal set; }

    public long BytesRead { get; internal set; }

    public long BytesWritten { get; internal set; }

    /// <summary>Data or PRP-list DMA that faulted (each gave a Data Transfer Error).</summary>
    public long DataDmaFaults { get; internal set; }

    /// <summary>SQE fetches or CQE posts that faulted (each made the controller fatal, CSTS.CFS).</summary>
    public long FatalDmaFaults { get; internal set; }

    public long Outstanding { get; internal set; }

    public long PeakOutstanding { get; internal set; }

    public long Doorbells { get; internal set; }

    public long CompletionsPosted { get; internal set; }

    public long Interrupts { get; internal set; }

    public long ControllerResets { get; internal set; }

    internal void Count(NvmeCommandKind kind)
    {
        _commands[(int)kind]++;
        CommandsTotal++;
    }

    internal void Started()
    {
        Outstanding++;
        if (Outstanding > PeakOutstanding)
        {
            PeakOutstanding = Outstanding;
        }
    }

    /// <summary>A copy for snapshots and JSON.</summary>
    public NvmeStatisticsSnapshot Snapshot() => new(
        Commands(NvmeCommandKind.Read),
        Commands(NvmeCommandKind.Write),
        Commands(NvmeCommandKind.Flush),
        Commands(NvmeCommandKind.WriteZeroes),
        Commands(NvmeCommandKind.DatasetManagement),
        Commands(NvmeCommandKind.Admin),
        Commands(NvmeCommandKind.Other),
        Errors,
        BytesRead,
        BytesWritten,
        DataDmaFaults,
        FatalDmaFaults,
        Outstanding,
        PeakOutstanding,
        Doorbells,
        CompletionsPosted,
        Interrupts,
        ControllerResets);
}

public sealed record NvmeStatisticsSnapshot(
    long Reads,
    long Writes,
    long Flushes,
    long WriteZeroes,
    long DatasetManagement,
    long Admin,
    long Other,
    long Errors,
    long BytesRead,
    long BytesWritten,
    long DataDmaFaults,
    long FatalDmaFaults,
    long Outstanding,
    long PeakOutstanding,
    long Doorbells,
    long CompletionsPosted,
    long Interrupts,
    long ControllerResets);
