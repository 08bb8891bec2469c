using Iced.Intel;
using ManagedVmm.Cpu.X86.Decoding;
using ManagedVmm.Cpu.X86.Spec;
using static ManagedVmm.Cpu.X86.Decoding.Operand;

namespace ManagedVmm.Cpu.X86;

/// <summary>
/// System instructions: RDTSC, RDMSR/WRMSR, LGDT/LIDT/SGDT/SIDT/LTR, MOV CRn, MOV Sreg, STI, IRETQ.
/// CPUID lives in <c>Cpuid.cs</c>.
/// </summary>
public sealed unsafe partial class X86Vcpu
{
    /// <summary>The TSC: virtual nanoseconds scaled to <see cref="X86CpuOptions.TscHz"/>, plus the guest's offset.</summary>
    public ulong ReadTsc()
    {
        SyncClock();
        return (ulong)((UInt128)(ulong)_scheduler.Now * _options.TscHz / 1_000_000_000UL) + _tscOffset;
    }

    private void ExecRdtsc(bool withAux)
    {
        ulong tsc = ReadTsc();
        R[0] = (uint)tsc;
        R[2] = tsc >> 32;
        if (withAux)
        {
            R[1] = (uint)_tscAux;
        }
    }

    private void ExecRdmsr()
    {
        uint index = (uint)R[1];
        if (!TryReadMsr(index, out ulong v))
        {
            if (!_options.IgnoreUnknownMsrs)
            {
                ReportGuestError($"rdmsr 0x{index:x}: unknown MSR → #GP(0)");
                RaiseFault(Vector.GP, 0);
            }

            ReportGuestError($"rdmsr 0x{index:x}: unknown MSR reads 0");
            v = 0;
        }

        R[0] = (uint)v;
        R[2] = v >> 32;
    }

    private void ExecWrmsr()
    {
        uint index = (uint)R[1];
        ulong v = ((ulong)(uint)R[2] << 32) | (uint)R[0];
        if (!TryWriteMsr(index, v))
        {
            if (!_options.IgnoreUnknownMsrs)
            {
                ReportGuestError($"wrmsr 0x{index:x} = 0x{v:x}: unknown MSR or bad value → #GP(0)");
                RaiseFault(Vector.GP, 0);
            }

            ReportGuestError($"wrmsr 0x{index:x} = 0x{v:x} dropped");
        }
    }

    /// <summary>Reads a model-specific register; false for one this vCPU does not have.</summary>
    public bool TryReadMsr(uint index, out ulong value)
    {
        switch (index)
        {
            case Msr.IA32_TIME_STAMP_COUNTER: value = ReadTsc(); return true;
            case Msr.IA32_APIC_BASE: value = Apic.BaseMsr; return true;
            case Msr.IA32_EFER: value = _efer; return true;
            case Msr.IA32_FS_BASE: value = _fsBase; return true;
            case Msr.IA32_GS_BASE: value = _gsBase; return true;
            case Msr.IA32_KERNEL_GS_BASE: value = _kernelGsBase; return true;
            case Msr.IA32_TSC_AUX: value = _tscAux; return true;
            case Msr.IA32_PAT: value = _pat; return true;
            case Msr.IA32_STAR: value = _star; return true;
            case Msr.IA32_LSTAR: value = _lstar; return true;
            case Msr.IA32_CSTAR: value = _cstar; return true;
            case Msr.IA32_FMASK: value = _fmask; return true;
            case Msr.IA32_MISC_ENABLE: value = _miscEnable; return true;
            case Msr.IA32_FEATURE_CONTROL or Msr.IA32_TSC_ADJUST or Msr.IA32_SYSENTER_CS or Msr.IA32_SYSENTER_ESP
                or Msr.IA32_SYSENTER_EIP:
                value = 0;
                return true;
            default:
                value = 0;
                return false;
        }
    }

    /// <summary>Writes a model-specific register; false (→ #GP) for an unknown one or a reserved bit.</summary>
    public bool TryWriteMsr(uint index, ulong value)
    {
        switch (index)
        {
            case Msr.IA32_TIME_STAMP_COUNTER:
                _tscOffset = 0;
                _tscOffset = value - ReadTsc();
                return true;
            case Msr.IA32_APIC_BASE:
                return Apic.WriteBaseMsr(value);
            case Msr.IA32_EFER:
                if ((value & ~Spec.Efer.Writable) != 0 || ((value & Spec.Efer.LME) == 0 && (_cr0 & Spec.Cr0.PG) != 0))
                {
                    return false;
                }

                if (((value ^ _efer) & Spec.Efer.NXE) != 0)
                {
                    FlushTlb();
                }

                _efer = value | (_efer & Spec.Efer.LMA);
                return true;
            case Msr.IA32_FS_BASE: return SetCanonical(ref _fsBase, value);
            case Msr.IA32_GS_BASE: return SetCanonical(ref _gsBase, value);
            case Msr.IA32_KERNEL_GS_BASE: return SetCanonical(ref _kernelGsBase, value);
            case Msr.IA32_TSC_AUX: _tscAux = (uint)value; return true;
            case Msr.IA32_PAT: _pat = value; return true;
            case Msr.IA32_STAR: _star = value; return true;
            case Msr.IA32_LSTAR: return SetCanonical(ref _lstar, value);
            case Msr.IA32_CSTAR: return SetCanonical(ref _cstar, value);
            case Msr.IA32_FMASK: _fmask = (uint)value; return true;
            case Msr.IA32_MISC_ENABLE: _miscEnable = value; return true;
            case Msr.IA32_TSC_ADJUST or Msr.IA32_SYSENTER_CS or Msr.IA32_SYSENTER_ESP or Msr.IA32_SYSENTER_EIP:
                return true;
            default:
                return false;
        }
    }

    private static bool IsCanonical(ulong v) => (ulong)(((long)v << 16) >> 16) == v;

    private static bool SetCanonical(ref ulong field, ulong value)
    {
        if (!IsCanonical(value))
        {
            return false;
        }

        field = value;
        return true;
    }

    private void ExecLoadTable(ref DecodedInsn d, bool gdt)
    {
        ulong ea = EffectiveAddress(ref d);
        ushort limit = (ushort)ReadMem(ea, 2);
        ulong b = ReadMem(ea + 2, 8);
        if (!IsCanonical(b))
        {
            RaiseFault(Vector.GP, 0);
        }

        if (gdt)
        {
            _gdtr = new TableRegister(b, limit);
        }
        else
        {
            _idtr = new TableRegister(b, limit);
        }
    }

    private void ExecStoreTable(ref DecodedInsn d, bool gdt)
    {
        var t = gdt ? _gdtr : _idtr;
        ulong ea = EffectiveAddress(ref d);
        ProbeWrite(ea, 10);
        WriteMem(ea, 2, t.Limit);
        WriteMem(ea + 2, 8, t.Base);
    }

    private void ExecLtr(ref DecodedInsn d)
    {
        ushort selector = (ushort)ReadOperand(ref d, d.K0, d.R0, 2);
        if ((selector & ~7) == 0 || (selector & 4) != 0)
        {
            RaiseFault(Vector.GP, (uint)(selector & ~3));
        }

        ulong addr = _gdtr.Base + (ulong)(selector & ~7);
        if ((ulong)(selector & ~7) + 15 > _gdtr.Limit)
        {
            RaiseFault(Vector.GP, (uint)(selector & ~3));
        }

        ulong lo = ReadMem(addr, 8);
        ulong hi = ReadMem(addr + 8, 8);
        int type = (int)(lo >> 40) & 0xF;
        if (type != 9)
        {
            RaiseFault(Vector.GP, (uint)(selector & ~3));
        }

        if (((lo >> 47) & 1) == 0)
        {
            RaiseFault(Vector.NP, (uint)(selector & ~3));
        }

        WriteMem(addr, 8, lo | (2UL << 40)); // mark busy
        _tr = selector;
        SetTaskRegisterCache(lo, hi);
    }

    private void SetTaskRegisterCache(ulong lo, ulong hi)
    {
        _trBase = ((lo >> 16) & 0xFF_FFFF) | (((lo >> 56) & 0xFF) << 24) | ((hi & 0xFFFF_FFFF) << 32);
        _trLimit = (ushort)(lo & 0xFFFF);
    }

    /// <summary>Loads TR's hidden base from the GDT at start-up (the boot code names TR without executing LTR).</summary>
    private void TryLoadTaskRegisterCache(ushort selector)
    {
        ulong addr = _gdtr.Base + (ulong)(selector & ~7);
        if (TryTranslateNoFault(addr, out ulong pa) && TryTranslateNoFault(addr + 8, out ulong pa2)
            && _ram.Contains(pa) && _ram.Contains(pa2))
        {
            SetTaskRegisterCache(PhysRead(pa, 8), PhysRead(pa2, 8));
        }
    }

    private void ExecMovCr(ref DecodedInsn d)
    {
        if (d.K0 == KReg)
        {
            var cr = (Register)d.R1;
            ulong v = cr switch
            {
                Register.CR0 => _cr0,
                Register.CR2 => _cr2,
                Register.CR3 => _cr3,
                Register.CR4 => _cr4,
                Register.CR8 => (ulong)(Apic.Tpr >> 4),
                _ => Undefined(ref d),
            };
            R[d.R0] = v;
            return;
        }

        WriteControlRegister(ref d, (Register)d.R0, R[d.R1]);
    }

    private ulong Undefined(ref DecodedInsn d)
    {
        ExecUndefined(ref d, "control register");
        return 0;
    }

    private void WriteControlRegister(ref DecodedInsn d, Register cr, ulong v)
    {
        switch (cr)
        {
            case Register.CR0:
                if ((v >> 32) != 0 || ((v & Spec.Cr0.PG) != 0 && (v & Spec.Cr0.PE) == 0)
                    || ((_efer & Spec.Efer.LMA) != 0 && (v & Spec.Cr0.PG) == 0))
                {
                    RaiseFault(Vector.GP, 0); // leaving long mode is not modelled
                }

                if (((v ^ _cr0) & (Spec.Cr0.PG | Spec.Cr0.WP | Spec.Cr0.PE)) != 0)
                {
                    FlushTlb();
                }

                _cr0 = v | Spec.Cr0.ET;
                return;
            case Register.CR2:
                _cr2 = v;
                return;
            case Register.CR3:
                _cr3 = v & ~(1UL << 63);
                FlushTlb();
                return;
            case Register.CR4:
                if ((v & ~Spec.Cr4.Supported) != 0 || ((_efer & Spec.Efer.LMA) != 0 && (v & Spec.Cr4.PAE) == 0))
                {
                    RaiseFault(Vector.GP, 0);
                }

                if (((v ^ _cr4) & (Spec.Cr4.PAE | Spec.Cr4.PGE | Spec.Cr4.PSE)) != 0)
                {
                    FlushTlb();
                }

                _cr4 = v;
                return;
            case Register.CR8:
                if ((v >> 4) != 0)
                {
                    RaiseFault(Vector.GP, 0);
                }

                Apic.Tpr = (uint)(v << 4);
                _slice = 0;
                return;
            default:
                ExecUndefined(ref d, "control register");
                return;
        }
    }

    private void ExecMovSreg(ref DecodedInsn d)
    {
        if (d.K0 == KOther)
        {
            LoadSegment((Register)d.R0, (ushort)ReadOperand(ref d, d.K1, d.R1, 2));
            return;
        }

        ulong v = ReadSpecialOperand(d.R1);
        if (d.K0 == KReg)
        {
            WriteGpr(d.R0, d.Size, v);
        }
        else
        {
            WriteMem(EffectiveAddress(ref d), 2, v);
        }
    }

    /// <summary>
    /// Loads a data segment selector. In 64-bit mode only FS/GS carry a base; loading them reads the
    /// 32-bit base of the descriptor (WRMSR sets the full 64-bit base). MOV SS opens an interrupt shadow.
    /// </summary>
    private void LoadSegment(Register seg, ushort selector)
    {
        if ((selector & ~3) != 0 && (ulong)(selector & ~7) + 7 > _gdtr.Limit)
        {
            RaiseFault(Vector.GP, (uint)(selector & ~3));
        }

        switch (seg)
        {
            case Register.SS: _ss = selector; _shadow = true; _slice = 0; break;
            case Register.DS: _ds = selector; break;
            case Register.ES: _es = selector; break;
            case Register.FS:
                _fs = selector;
                if ((selector & ~3) != 0)
                {
                    _fsBase = DescriptorBase(selector);
                }

                break;
            case Register.GS:
                _gs = selector;
                if ((selector & ~3) != 0)
                {
                    _gsBase = DescriptorBase(selector);
                }

                break;
            case Register.CS:
                RaiseFault(Vector.UD);
                break;
        }
    }

    private ulong DescriptorBase(ushort selector)
    {
        ulong lo = ReadMem(_gdtr.Base + (ulong)(selector & ~7), 8);
        return ((lo >> 16) & 0xFF_FFFF) | (((lo >> 56) & 0xFF) << 24);
    }

    private void ExecSti()
    {
        if ((_rflags & Spec.RFlags.IF) == 0)
        {
            _rflags |= Spec.RFlags.IF;
            _shadow = true;
        }

        _slice = 0;
    }

    private void ExecIret(ref DecodedInsn d)
    {
        int size = d.I.Code == Code.Iretq ? 8 : d.I.Code == Code.Iretd ? 4 : 2;
        ulong rsp = R[Rsp];
        ulong rip = ReadMem(rsp, size);
        ushort cs = (ushort)ReadMem(rsp + (ulong)size, size);
        ulong flags = ReadMem(rsp + (ulong)(2 * size), size);
        ulong newRsp = ReadMem(rsp + (ulong)(3 * size), size);
        ushort ss = (ushort)ReadMem(rsp + (ulong)(4 * size), size);
        if ((cs & 3) != 0)
        {
            ReportGuestError($"iretq to CPL {cs & 3} at rip=0x{_instrRip:x}: only CPL 0 is modelled");
            RaiseFault(Vector.GP, (uint)(cs & ~3));
        }

        if (!IsCanonical(rip))
        {
            RaiseFault(Vector.GP, 0);
        }

        ulong old = GetRFlags();
        if (size == 4)
        {
            flags = (old & ~0xFFFF_FFFFUL) | flags;
        }
        else if (size == 2)
        {
            flags = (old & ~0xFFFFUL) | flags;
        }

        _cs = cs;
        _ss = ss;
        _rip = rip;
        R[Rsp] = newRsp;
        SetRFlags(flags);
        _slice = 0;
    }
}
