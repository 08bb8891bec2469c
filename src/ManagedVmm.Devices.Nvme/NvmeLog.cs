using Microsoft.Extensions.Logging;

namespace ManagedVmm.Devices.Nvme;

/// <summary>
/// Trace events under <c>ManagedVmm.Trace.Nvme</c>, named in the spirit of QEMU's <c>pci_nvme_*</c> events.
/// Each is a <c>[LoggerMessage]</c>: a disabled category costs one branch.
/// </summary>
internal static partial class NvmeLog
{
    public const string Category = "ManagedVmm.Trace.Nvme";

    [LoggerMessage(EventId = 1, Level = LogLevel.Trace, Message = "nvme_enable cc=0x{Cc:x} asq=0x{Asq:x} acq=0x{Acq:x} aqa=0x{Aqa:x}")]
    public static partial void Enable(ILogger logger, uint cc, ulong asq, ulong acq, uint aqa);

    [LoggerMessage(EventId = 2, Level = LogLevel.Trace, Message = "nvme_reset outstanding={Outstanding}")]
    public static partial void Reset(ILogger logger, long outstanding);

    [LoggerMessage(EventId = 3, Level = LogLevel.Trace, Message = "nvme_shutdown shn={Shn}")]
    public static partial void Shutdown(ILogger logger, uint shn);

    [LoggerMessage(EventId = 4, Level = LogLevel.Trace, Message = "nvme_doorbell {Kind} qid={Qid} value={Value}")]
    public static partial void Doorbell(ILogger logger, string kind, int qid, int value);

    [LoggerMessage(EventId = 5, Level = LogLevel.Trace, Message = "nvme_submit sqid={Sqid} cid={Cid} opc=0x{Opcode:x2} nsid={Nsid} due={DueNs}")]
    public static partial void Submit(ILogger logger, int sqid, ushort cid, byte opcode, uint nsid, long dueNs);

    [LoggerMessage(EventId = 6, Level = LogLevel.Trace, Message = "nvme_complete sqid={Sqid} cid={Cid} cqid={Cqid} status={Status}")]
    public static partial void Complete(ILogger logger, int sqid, ushort cid, int cqid, string status);

    [LoggerMessage(EventId = 7, Level = LogLevel.Trace, Message = "nvme_irq_msix cqid={Cqid} vector={Vector}")]
    public static partial void Interrupt(ILogger logger, int cqid, int vector);

    [LoggerMessage(EventId = 8, Level = LogLevel.Trace, Message = "nvme_dma_fault {What} at 0x{Address:x}")]
    public static partial void DmaFault(ILogger logger, string what, ulong address);

    [LoggerMessage(EventId = 9, Level = LogLevel.Trace, Message = "nvme_fatal {Reason}")]
    public static partial void Fatal(ILogger logger, string reason);
}
