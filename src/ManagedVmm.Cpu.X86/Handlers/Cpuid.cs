namespace ManagedVmm.Cpu.X86;

/// <summary>
/// CPUID (SDM Vol. 2A): only what the interpreter implements is advertised.
/// <list type="table">
/// <item><term>0</term><description>max basic leaf 0x15, vendor "ManagedVmm64".</description></item>
/// <item><term>1</term><description>family 6 model 0x0F; EBX APIC ID, CLFLUSH 64 B; ECX SSE3=0, CX16, POPCNT,
/// hypervisor; EDX FPU(0, no x87), TSC, MSR, PAE, CX8, APIC, PGE, CMOV, PAT, CLFSH, FXSR=0, SSE, SSE2.</description></item>
/// <item><term>7.0</term><description>EBX BMI1 (ANDN/BEXTR/BLSI/BLSMSK/BLSR/TZCNT).</description></item>
/// <item><term>0x15</term><description>TSC/crystal ratio 1/1 with crystal = <see cref="X86CpuOptions.TscHz"/>, so
/// guests can read the TSC frequency.</description></item>
/// <item><term>0x40000000</term><description>hypervisor leaf: max 0x40000001, "ManagedVmm\0\0"; 0x40000001 EAX =
/// TSC kHz, EBX = APIC timer kHz.</description></item>
/// <item><term>0x80000001</term><description>ECX LAHF-SAHF, ABM (LZCNT); EDX NX, Page1GB, LM.</description></item>
/// <item><term>0x80000002-4</term><description>brand string.</description></item>
/// <item><term>0x80000008</term><description>40 physical, 48 linear address bits.</description></item>
/// </list>
/// Every other leaf returns zeros.
/// </summary>
public sealed unsafe partial class X86Vcpu
{
    private const uint MaxBasicLeaf = 0x15;
    private const uint MaxExtendedLeaf = 0x8000_0008;
    private const string Brand = "ManagedVmm x86-64 interpreter\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

    private void ExecCpuid()
    {
        var (a, b, c, d) = Cpuid((uint)R[0], (uint)R[1]);
        R[0] = a;
        R[3] = b;
        R[1] = c;
        R[2] = d;
    }

    /// <summary>The CPUID result (EAX, EBX, ECX, EDX) for a leaf and sub-leaf.</summary>
    public (uint Eax, uint Ebx, uint Ecx, uint Edx) Cpuid(uint leaf, uint subleaf)
    {
        switch (leaf)
        {
            case 0:
                return (MaxBasicLeaf, Ascii4("Mana"), Ascii4("mm64"), Ascii4("gedV")); // EBX, EDX, ECX spell "ManagedVmm64"
            case 1:
            {
                const uint cx16 = 1 << 13, popcnt = 1 << 23, hypervisor = 1u << 31;
                const uint tsc = 1 << 4, msr = 1 << 5, pae = 1 << 6, cx8 = 1 << 8, apic = 1 << 9, pge = 1 << 13,
                    cmov = 1 << 15, pat = 1 << 16, clfsh = 1 << 19, sse = 1 << 25, sse2 = 1 << 26;
                uint ebx = ((uint)Apic.Id << 24) | (1 << 16) | (8 << 8);
                return (0x0006_00F1, ebx, cx16 | popcnt | hypervisor,
                    tsc | msr | pae | cx8 | apic | pge | cmov | pat | clfsh | sse | sse2);
            }

            case 7 when subleaf == 0:
                return (0, 1 << 3, 0, 0);
            case 0x15:
                return (1, 1, (uint)Math.Min(_options.TscHz, uint.MaxValue), 0);
            case 0x4000_0000:
                return (0x4000_0001, Ascii4("Mana"), Ascii4("gedV"), Ascii4("mm\0\0"));
            case 0x4000_0001:
                return ((uint)(_options.TscHz / 1000), (uint)(_options.ApicTimerHz / 1000), 0, 0);
            case 0x8000_0000:
                return (MaxExtendedLeaf, 0, 0, 0);
            case 0x8000_0001:
                return (0, 0, (1 << 0) | (1 << 5), (1 << 20) | (1 << 26) | (1 << 29));
            case 0x8000_0002:
            case 0x8000_0003:
            case 0x8000_0004:
            {
                int o = (int)(leaf - 0x8000_0002) * 16;
                return (Ascii4(Brand.Substring(o, 4)), Ascii4(Brand.Substring(o + 4, 4)),
                    Ascii4(Brand.Substring(o + 8, 4)), Ascii4(Brand.Substring(o + 12, 4)));
            }

            case 0x8000_0008:
                return ((48 << 8) | PhysicalAddressBits, 0, 0, 0);
            default:
                return (0, 0, 0, 0);
        }
    }

    private static uint Ascii4(string s)
    {
        uint v = 0;
        for (int i = 0; i < Math.Min(4, s.Length); i++)
        {
            v |= (uint)(byte)s[i] << (8 * i);
        }

        return v;
    }
}
