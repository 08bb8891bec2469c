namespace ManagedVmm.Devices.Nvme.Spec;

/// <summary>Controller register offsets in BAR0 (NVMe 1.4 §3.1, QEMU <c>NvmeBar</c>; reference nvme.md §1).</summary>
public static class NvmeReg
{
    public const int Cap = 0x00;
    public const int Vs = 0x08;
    public const int Intms = 0x0C;
    public const int Intmc = 0x10;
    public const int Cc = 0x14;
    public const int Csts = 0x1C;
    public const int Nssr = 0x20;
    public const int Aqa = 0x24;
    public const int Asq = 0x28;
    public const int Acq = 0x30;
    public const int Cmbloc = 0x38;
    public const int Cmbsz = 0x3C;

    /// <summary>The register page: 0x000–0xFFF.</summary>
    public const int RegisterPageSize = 0x1000;

    /// <summary>SQ0TDBL: the first doorbell; SQyTDBL at 0x1000 + 2y·(4≪DSTRD), CQyHDBL at 0x1000 + (2y+1)·(4≪DSTRD).</summary>
    public const int DoorbellBase = 0x1000;

    /// <summary>VS for NVMe 1.4.0: MJR 1, MNR 4, TER 0.</summary>
    public const uint Version14 = 0x0001_0400;
}

/// <summary>CAP fields (NVMe 1.4 §3.1.1; reference nvme.md §1 "CAP").</summary>
public static class Cap
{
    public const int MqesShift = 0;
    public const ulong MqesMask = 0xFFFF;
    public const ulong Cqr = 1UL << 16;
    public const int ToShift = 24;
    public const int DstrdShift = 32;
    public const int CssShift = 37;

    /// <summary>CAP.CSS bit 0: the NVM command set.</summary>
    public const ulong CssNvm = 1UL << 37;
    public const int MpsMinShift = 48;
    public const int MpsMaxShift = 52;
}

/// <summary>CC fields (NVMe 1.4 §3.1.5).</summary>
public static class Cc
{
    public const uint En = 1;
    public const int CssShift = 4;
    public const uint CssMask = 0x7;
    public const int MpsShift = 7;
    public const uint MpsMask = 0xF;
    public const int AmsShift = 11;
    public const uint AmsMask = 0x7;
    public const int ShnShift = 14;
    public const uint ShnMask = 0x3;
    public const int IosqesShift = 16;
    public const uint IosqesMask = 0xF;
    public const int IocqesShift = 20;
    public const uint IocqesMask = 0xF;

    /// <summary>The bits a host may write: EN, CSS, MPS, AMS, SHN, IOSQES, IOCQES (bits 23:0, less reserved 3:1).</summary>
    public const uint WritableMask = 0x00FF_FFF1;

    /// <summary>CC.CSS = 000b: NVM command set.</summary>
    public const uint CssNvm = 0;

    /// <summary>CC.SHN: 01b normal, 10b abrupt.</summary>
    public const uint ShnNone = 0;

    /// <summary>log2 of the only SQ entry size supported (64 B).</summary>
    public const uint SqEntrySizeLog2 = 6;

    /// <summary>log2 of the only CQ entry size supported (16 B).</summary>
    public const uint CqEntrySizeLog2 = 4;
}

/// <summary>CSTS fields (NVMe 1.4 §3.1.6).</summary>
public static class Csts
{
    public const uint Rdy = 1;
    public const uint Cfs = 1 << 1;
    public const int ShstShift = 2;
    public const uint ShstMask = 0x3 << 2;
    public const uint ShstNormal = 0;
    public const uint ShstInProgress = 1 << 2;
    public const uint ShstComplete = 2 << 2;
    public const uint Nssro = 1 << 4;
}

/// <summary>AQA fields (NVMe 1.4 §3.1.8): both sizes 0-based, 12 bits.</summary>
public static class Aqa
{
    public const uint AsqsMask = 0xFFF;
    public const int AcqsShift = 16;
    public const uint WritableMask = 0x0FFF_0FFF;
}
