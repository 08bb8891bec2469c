namespace ManagedVmm.Cpu.X86.Apic;

/// <summary>xAPIC register offsets in the 4 KiB MMIO page (SDM Vol. 3A Table 11-1 / 10-1).</summary>
public static class ApicRegister
{
    public const int Id = 0x20;
    public const int Version = 0x30;
    public const int Tpr = 0x80;
    public const int Apr = 0x90;
    public const int Ppr = 0xA0;
    public const int Eoi = 0xB0;
    public const int Rrd = 0xC0;
    public const int Ldr = 0xD0;
    public const int Dfr = 0xE0;
    public const int Svr = 0xF0;
    public const int IsrBase = 0x100;
    public const int TmrBase = 0x180;
    public const int IrrBase = 0x200;
    public const int Esr = 0x280;
    public const int LvtCmci = 0x2F0;
    public const int IcrLow = 0x300;
    public const int IcrHigh = 0x310;
    public const int LvtTimer = 0x320;
    public const int LvtThermal = 0x330;
    public const int LvtPerf = 0x340;
    public const int LvtLint0 = 0x350;
    public const int LvtLint1 = 0x360;
    public const int LvtError = 0x370;
    public const int TimerInitialCount = 0x380;
    public const int TimerCurrentCount = 0x390;
    public const int TimerDivide = 0x3E0;

    /// <summary>Guest-physical base of the xAPIC page after reset.</summary>
    public const ulong DefaultBase = 0xFEE0_0000;

    /// <summary>SVR bit 8: APIC software enable.</summary>
    public const uint SvrEnable = 1 << 8;

    /// <summary>LVT bit 16: masked.</summary>
    public const uint LvtMasked = 1 << 16;

    /// <summary>LVT bit 12: delivery status (send pending).</summary>
    public const uint LvtDeliveryStatus = 1 << 12;

    /// <summary>LVT timer mode, bits 18:17: 00 one-shot, 01 periodic, 10 TSC-deadline.</summary>
    public const int LvtTimerModeShift = 17;

    /// <summary>Version register: version 0x14 (integrated xAPIC), max LVT entry 5.</summary>
    public const uint VersionValue = 0x0005_0014;
}
