namespace ManagedVmm.Cpu.X86.Spec;

/// <summary>RFLAGS bits (Intel SDM Vol. 1 §3.4.3).</summary>
public static class RFlags
{
    public const ulong CF = 1 << 0;
    public const ulong Reserved1 = 1 << 1;
    public const ulong PF = 1 << 2;
    public const ulong AF = 1 << 4;
    public const ulong ZF = 1 << 6;
    public const ulong SF = 1 << 7;
    public const ulong TF = 1 << 8;
    public const ulong IF = 1 << 9;
    public const ulong DF = 1 << 10;
    public const ulong OF = 1 << 11;
    public const ulong IOPL = 3 << 12;
    public const ulong NT = 1 << 14;
    public const ulong RF = 1 << 16;
    public const ulong VM = 1 << 17;
    public const ulong AC = 1 << 18;
    public const ulong ID = 1 << 21;

    /// <summary>The six arithmetic status flags.</summary>
    public const ulong Arith = CF | PF | AF | ZF | SF | OF;

    /// <summary>Bits POPF/IRET may change at CPL 0 in 64-bit mode (VM, VIF, VIP are not modelled).</summary>
    public const ulong Writable = Arith | TF | IF | DF | IOPL | NT | RF | AC | ID;
}

/// <summary>CR0 bits (SDM Vol. 3A §2.5).</summary>
public static class Cr0
{
    public const ulong PE = 1 << 0;
    public const ulong MP = 1 << 1;
    public const ulong EM = 1 << 2;
    public const ulong TS = 1 << 3;
    public const ulong ET = 1 << 4;
    public const ulong NE = 1 << 5;
    public const ulong WP = 1 << 16;
    public const ulong AM = 1 << 18;
    public const ulong NW = 1 << 29;
    public const ulong CD = 1 << 30;
    public const ulong PG = 1UL << 31;
}

/// <summary>CR4 bits (SDM Vol. 3A §2.5).</summary>
public static class Cr4
{
    public const ulong VME = 1 << 0;
    public const ulong PVI = 1 << 1;
    public const ulong TSD = 1 << 2;
    public const ulong DE = 1 << 3;
    public const ulong PSE = 1 << 4;
    public const ulong PAE = 1 << 5;
    public const ulong MCE = 1 << 6;
    public const ulong PGE = 1 << 7;
    public const ulong PCE = 1 << 8;
    public const ulong OSFXSR = 1 << 9;
    public const ulong OSXMMEXCPT = 1 << 10;

    /// <summary>Bits a guest may set; everything else is reserved here and gives #GP.</summary>
    public const ulong Supported = VME | PVI | TSD | DE | PSE | PAE | MCE | PGE | PCE | OSFXSR | OSXMMEXCPT;
}

/// <summary>IA32_EFER bits (SDM Vol. 3A §2.2.1).</summary>
public static class Efer
{
    public const ulong SCE = 1 << 0;
    public const ulong LME = 1 << 8;
    public const ulong LMA = 1 << 10;
    public const ulong NXE = 1 << 11;

    public const ulong Writable = SCE | LME | LMA | NXE;
}

/// <summary>Model-specific register numbers (SDM Vol. 4).</summary>
public static class Msr
{
    public const uint IA32_TIME_STAMP_COUNTER = 0x10;
    public const uint IA32_APIC_BASE = 0x1B;
    public const uint IA32_FEATURE_CONTROL = 0x3A;
    public const uint IA32_TSC_ADJUST = 0x3B;
    public const uint IA32_SYSENTER_CS = 0x174;
    public const uint IA32_SYSENTER_ESP = 0x175;
    public const uint IA32_SYSENTER_EIP = 0x176;
    public const uint IA32_MISC_ENABLE = 0x1A0;
    public const uint IA32_PAT = 0x277;
    public const uint IA32_EFER = 0xC000_0080;
    public const uint IA32_STAR = 0xC000_0081;
    public const uint IA32_LSTAR = 0xC000_0082;
    public const uint IA32_CSTAR = 0xC000_0083;
    public const uint IA32_FMASK = 0xC000_0084;
    public const uint IA32_FS_BASE = 0xC000_0100;
    public const uint IA32_GS_BASE = 0xC000_0101;
    public const uint IA32_KERNEL_GS_BASE = 0xC000_0102;
    public const uint IA32_TSC_AUX = 0xC000_0103;

    /// <summary>IA32_APIC_BASE: BSP flag.</summary>
    public const ulong ApicBaseBsp = 1 << 8;

    /// <summary>IA32_APIC_BASE: xAPIC global enable.</summary>
    public const ulong ApicBaseEnable = 1 << 11;
}

/// <summary>Exception vectors (SDM Vol. 3A Table 6-1).</summary>
public static class Vector
{
    public const byte DE = 0;
    public const byte DB = 1;
    public const byte NMI = 2;
    public const byte BP = 3;
    public const byte OF = 4;
    public const byte BR = 5;
    public const byte UD = 6;
    public const byte NM = 7;
    public const byte DF = 8;
    public const byte TS = 10;
    public const byte NP = 11;
    public const byte SS = 12;
    public const byte GP = 13;
    public const byte PF = 14;
    public const byte MF = 16;
    public const byte AC = 17;
    public const byte XM = 19;

    /// <summary>Vectors that push an error code (SDM §6.13).</summary>
    public static bool HasErrorCode(int vector) =>
        vector is DF or TS or NP or SS or GP or PF or AC;

    /// <summary>Contributory exceptions for the double-fault rules (SDM Table 6-4).</summary>
    public static bool IsContributory(int vector) => vector is DE or TS or NP or SS or GP;
}

/// <summary>Page-table entry bits for 4-level paging (SDM Vol. 3A §4.5, Tables 4-14..4-19).</summary>
public static class Pte
{
    public const ulong P = 1 << 0;
    public const ulong RW = 1 << 1;
    public const ulong US = 1 << 2;
    public const ulong PWT = 1 << 3;
    public const ulong PCD = 1 << 4;
    public const ulong A = 1 << 5;
    public const ulong D = 1 << 6;
    public const ulong PS = 1 << 7;
    public const ulong G = 1 << 8;
    public const ulong XD = 1UL << 63;

    /// <summary>Physical-address bits 51:12 of an entry.</summary>
    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000;
}

/// <summary>#PF error-code bits (SDM Vol. 3A §4.7).</summary>
public static class PfError
{
    public const uint Present = 1 << 0;
    public const uint Write = 1 << 1;
    public const uint User = 1 << 2;
    public const uint Reserved = 1 << 3;
    public const uint Fetch = 1 << 4;
}
