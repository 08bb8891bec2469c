namespace ManagedVmm.Devices.Nvme.Spec;

/// <summary>
/// Completion status values packed as QEMU does: <c>SCT≪8 | SC</c>, More = 0x2000, DNR = 0x4000; the CQE holds
/// <c>status≪1 | phase</c> in DW3[31:16] (NVMe 1.4 §4.6.1; reference nvme.md §6).
/// </summary>
public static class NvmeStatus
{
    public const ushort Dnr = 0x4000;
    public const ushort More = 0x2000;

    // Generic (SCT 0)
    public const ushort Success = 0x000;
    public const ushort InvalidOpcode = 0x001;
    public const ushort InvalidField = 0x002;
    public const ushort DataTransferError = 0x004;
    public const ushort InternalError = 0x006;
    public const ushort AbortRequested = 0x007;
    public const ushort AbortedSqDeletion = 0x008;
    public const ushort InvalidNamespaceOrFormat = 0x00B;
    public const ushort CommandSequenceError = 0x00C;
    public const ushort InvalidPrpOffset = 0x013;
    public const ushort NamespaceWriteProtected = 0x020;
    public const ushort LbaOutOfRange = 0x080;

    // Command specific (SCT 1)
    public const ushort CompletionQueueInvalid = 0x100;
    public const ushort InvalidQueueIdentifier = 0x101;
    public const ushort InvalidQueueSize = 0x102;
    public const ushort AsyncEventRequestLimitExceeded = 0x105;
    public const ushort InvalidInterruptVector = 0x108;
    public const ushort InvalidLogPage = 0x109;
    public const ushort InvalidQueueDeletion = 0x10C;
    public const ushort FeatureNotSaveable = 0x10D;

    // Media and data integrity (SCT 2)
    public const ushort WriteFault = 0x280;
    public const ushort UnrecoveredReadError = 0x281;

    public static int Sct(ushort status) => (status >> 8) & 0x7;

    public static int Sc(ushort status) => status & 0xFF;

    public static bool IsDnr(ushort status) => (status & Dnr) != 0;

    public static bool IsSuccess(ushort status) => (status & 0x7FF) == 0;

    /// <summary>"SCT/SC" with the name where known, for logs and test messages.</summary>
    public static string Describe(ushort status)
    {
        string name = (ushort)(status & 0x7FF) switch
        {
            Success => "Success",
            InvalidOpcode => "Invalid Command Opcode",
            InvalidField => "Invalid Field in Command",
            DataTransferError => "Data Transfer Error",
            InternalError => "Internal Error",
            AbortRequested => "Command Abort Requested",
            AbortedSqDeletion => "Command Aborted due to SQ Deletion",
            InvalidNamespaceOrFormat => "Invalid Namespace or Format",
            CommandSequenceError => "Command Sequence Error",
            InvalidPrpOffset => "PRP Offset Invalid",
            NamespaceWriteProtected => "Namespace is Write Protected",
            LbaOutOfRange => "LBA Out of Range",
            CompletionQueueInvalid => "Completion Queue Invalid",
            InvalidQueueIdentifier => "Invalid Queue Identifier",
            InvalidQueueSize => "Invalid Queue Size",
            AsyncEventRequestLimitExceeded => "Asynchronous Event Request Limit Exceeded",
            InvalidInterruptVector => "Invalid Interrupt Vector",
            InvalidLogPage => "Invalid Log Page",
            InvalidQueueDeletion => "Invalid Queue Deletion",
            FeatureNotSaveable => "Feature Identifier Not Saveable",
            WriteFault => "Write Fault",
            UnrecoveredReadError => "Unrecovered Read Error",
            _ => "?",
        };
        return $"{Sct(status)}/{Sc(status):x2}h {name}{(IsDnr(status) ? " DNR" : string.Empty)}";
    }
}
