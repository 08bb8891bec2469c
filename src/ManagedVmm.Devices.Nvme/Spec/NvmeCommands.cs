using System.Runtime.InteropServices;

namespace ManagedVmm.Devices.Nvme.Spec;

/// <summary>
/// A submission queue entry, 64 bytes little-endian (NVMe 1.4 §4.2; reference nvme.md §2). Copied in from guest
/// memory once, then validated.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct NvmeCommand
{
    public const int Size = 64;

    public byte Opcode;

    /// <summary>CDW0[15:8]: FUSE in bits 1:0, PSDT in bits 7:6.</summary>
    public byte Flags;
    public ushort Cid;
    public uint Nsid;
    public uint Cdw2;
    public uint Cdw3;
    public ulong Mptr;
    public ulong Prp1;
    public ulong Prp2;
    public uint Cdw10;
    public uint Cdw11;
    public uint Cdw12;
    public uint Cdw13;
    public uint Cdw14;
    public uint Cdw15;

    public const byte FuseMask = 0x03;
    public const byte PsdtMask = 0xC0;

    public readonly int Fuse => Flags & FuseMask;

    public readonly int Psdt => (Flags & PsdtMask) >> 6;
}

/// <summary>A completion queue entry, 16 bytes (NVMe 1.4 §4.6).</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct NvmeCompletion
{
    public const int Size = 16;

    public uint Dw0;
    public uint Dw1;
    public ushort SqHead;
    public ushort SqId;
    public ushort Cid;

    /// <summary>Bit 0 the phase tag P; bits 15:1 the status field (SC 8:1, SCT 11:9, CRD 13:12, M 14, DNR 15).</summary>
    public ushort StatusAndPhase;

    public readonly bool Phase => (StatusAndPhase & 1) != 0;

    /// <summary>The status as <see cref="NvmeStatus"/> packs it (SCT≪8 | SC, More 0x2000, DNR 0x4000).</summary>
    public readonly ushort Status => (ushort)(StatusAndPhase >> 1);
}

/// <summary>Admin command opcodes (NVMe 1.4 §5, Figure 139).</summary>
public static class AdminOpcode
{
    public const byte DeleteIoSq = 0x00;
    public const byte CreateIoSq = 0x01;
    public const byte GetLogPage = 0x02;
    public const byte DeleteIoCq = 0x04;
    public const byte CreateIoCq = 0x05;
    public const byte Identify = 0x06;
    public const byte Abort = 0x08;
    public const byte SetFeatures = 0x09;
    public const byte GetFeatures = 0x0A;
    public const byte AsyncEventRequest = 0x0C;
    public const byte KeepAlive = 0x18;
    public const byte DoorbellBufferConfig = 0x7C;
    public const byte FormatNvm = 0x80;
}

/// <summary>NVM command set opcodes (NVMe 1.4 §6, Figure 346).</summary>
public static class NvmOpcode
{
    public const byte Flush = 0x00;
    public const byte Write = 0x01;
    public const byte Read = 0x02;
    public const byte WriteUncorrectable = 0x04;
    public const byte Compare = 0x05;
    public const byte WriteZeroes = 0x08;
    public const byte DatasetManagement = 0x09;
}

/// <summary>Identify CNS values (NVMe 1.4 §5.15.1).</summary>
public static class IdentifyCns
{
    public const byte Namespace = 0x00;
    public const byte Controller = 0x01;
    public const byte ActiveNamespaceList = 0x02;
    public const byte NamespaceDescriptorList = 0x03;

    /// <summary>Every Identify data structure is 4096 bytes.</summary>
    public const int DataSize = 4096;

    /// <summary>Namespace Identification Descriptor type 02h: NGUID, 16 bytes.</summary>
    public const byte NidtNguid = 0x02;
}

/// <summary>Feature identifiers (NVMe 1.4 §5.21.1).</summary>
public static class FeatureId
{
    public const byte Arbitration = 0x01;
    public const byte PowerManagement = 0x02;
    public const byte TemperatureThreshold = 0x04;
    public const byte ErrorRecovery = 0x05;
    public const byte VolatileWriteCache = 0x06;
    public const byte NumberOfQueues = 0x07;
    public const byte InterruptCoalescing = 0x08;
    public const byte InterruptVectorConfiguration = 0x09;
    public const byte WriteAtomicityNormal = 0x0A;
    public const byte AsyncEventConfiguration = 0x0B;

    /// <summary>Get Features SEL (CDW10[10:8]): 0 current, 1 default, 2 saved, 3 supported capabilities.</summary>
    public const int SelShift = 8;

    /// <summary>Set Features SV (CDW10[31]): save across power cycles.</summary>
    public const uint SaveBit = 1u << 31;
}

/// <summary>Log page identifiers (NVMe 1.4 §5.14.1).</summary>
public static class LogPageId
{
    public const byte ErrorInformation = 0x01;
    public const byte SmartHealth = 0x02;
    public const byte FirmwareSlot = 0x03;

    public const int ErrorEntrySize = 64;
    public const int SmartSize = 512;
    public const int FirmwareSlotSize = 512;

    /// <summary>CDW10[15]: Retain Asynchronous Event.</summary>
    public const uint RaeBit = 1u << 15;
}

/// <summary>Asynchronous event types and information (NVMe 1.4 §5.2, Figures 145–147).</summary>
public static class AsyncEvent
{
    public const byte TypeError = 0x0;
    public const byte TypeSmart = 0x1;

    /// <summary>Error status: write to an invalid doorbell register.</summary>
    public const byte InfoInvalidDoorbellRegister = 0x00;

    /// <summary>Error status: invalid doorbell write value.</summary>
    public const byte InfoInvalidDoorbellValue = 0x01;
}

/// <summary>Identify Controller and Namespace byte offsets used by the device (NVMe 1.4 Figures 247, 249; reference §8).</summary>
public static class IdentifyOffsets
{
    public const int CtrlVid = 0;
    public const int CtrlSsvid = 2;
    public const int CtrlSn = 4;
    public const int CtrlMn = 24;
    public const int CtrlFr = 64;
    public const int CtrlRab = 72;
    public const int CtrlIeee = 73;
    public const int CtrlMdts = 77;
    public const int CtrlCntlid = 78;
    public const int CtrlVer = 80;
    public const int CtrlOaes = 92;
    public const int CtrlCntrltype = 111;
    public const int CtrlOacs = 256;
    public const int CtrlAcl = 258;
    public const int CtrlAerl = 259;
    public const int CtrlFrmw = 260;
    public const int CtrlLpa = 261;
    public const int CtrlElpe = 262;
    public const int CtrlNpss = 263;
    public const int CtrlWctemp = 266;
    public const int CtrlCctemp = 268;
    public const int CtrlSqes = 512;
    public const int CtrlCqes = 513;
    public const int CtrlMaxcmd = 514;
    public const int CtrlNn = 516;
    public const int CtrlOncs = 520;
    public const int CtrlVwc = 525;
    public const int CtrlSubnqn = 768;
    public const int CtrlPsd0 = 2048;

    public const int NsNsze = 0;
    public const int NsNcap = 8;
    public const int NsNuse = 16;
    public const int NsNlbaf = 25;
    public const int NsFlbas = 26;
    public const int NsNsattr = 99;
    public const int NsNguid = 104;
    public const int NsLbaf0 = 128;

    /// <summary>ONCS bit 2: Dataset Management; bit 3: Write Zeroes.</summary>
    public const ushort OncsDsm = 1 << 2;
    public const ushort OncsWriteZeroes = 1 << 3;

    /// <summary>VWC bit 0 present; bits 2:1 = 11b: Flush accepts NSID FFFFFFFFh.</summary>
    public const byte VwcPresentWithBroadcastFlush = 0x07;

    /// <summary>NSATTR bit 0: the namespace is write protected.</summary>
    public const byte NsattrWriteProtected = 0x01;

    /// <summary>CNTRLTYPE 1: I/O controller.</summary>
    public const byte ControllerTypeIo = 1;
}
