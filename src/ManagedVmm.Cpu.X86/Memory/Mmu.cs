using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ManagedVmm.Cpu.X86.Spec;

namespace ManagedVmm.Cpu.X86;

/// <summary>
/// Linear → physical translation: 4-level paging (SDM Vol. 3A §4.5) with 4 KiB, 2 MiB and 1 GiB pages,
/// accessed/dirty bits, R/W with CR0.WP and XD with EFER.NXE, behind a direct-mapped software TLB that keeps
/// a host pointer for RAM pages (QEMU's softmmu idea). Entries are filled per 4 KiB even for large pages.
/// MMIO pages, read-only pages and pages holding decoded code never get a fast write tag, so those writes
/// take the slow path (device dispatch, drop-and-log, code invalidation).
/// </summary>
public sealed unsafe partial class X86Vcpu
{
    private const int TlbBits = 10;
    private const int TlbMask = (1 << TlbBits) - 1;
    private const ulong NoTag = ulong.MaxValue;
    private const byte PermWrite = 1;
    private const byte PermExec = 2;

    /// <summary>MAXPHYADDR reported by CPUID.80000008H; entry bits above it are reserved.</summary>
    internal const int PhysicalAddressBits = 40;

    private const ulong ReservedAbovePhys = 0x000F_FFFF_FFFF_F000 & ~((1UL << PhysicalAddressBits) - 1);

    private readonly TlbEntry[] _tlb = new TlbEntry[1 << TlbBits];
    private bool _tlbHasLargePages;

    internal enum Access
    {
        Read,
        Write,
        Execute,
    }

    private struct TlbEntry
    {
        public ulong ReadTag;
        public ulong WriteTag;
        public ulong VPage;
        public ulong PhysPage;
        public nint Host;
        public byte Perm;
    }

    /// <summary>TLB misses (page walks) since power-on.</summary>
    public long PageWalks { get; private set; }

    internal void FlushTlb()
    {
        for (int i = 0; i < _tlb.Length; i++)
        {
            _tlb[i] = new TlbEntry { ReadTag = NoTag, WriteTag = NoTag, VPage = NoTag, PhysPage = NoTag };
        }

        _tlbHasLargePages = false;
        ResetFetchPage();
    }

    private void InvalidatePage(ulong la)
    {
        if (_tlbHasLargePages)
        {
            FlushTlb();
            return;
        }

        ref var e = ref _tlb[(int)(la >> 12) & TlbMask];
        if (e.VPage == (la & ~0xFFFUL))
        {
            e = new TlbEntry { ReadTag = NoTag, WriteTag = NoTag, VPage = NoTag, PhysPage = NoTag };
        }

        ResetFetchPage();
    }

    private void InvalidateWriteTags(ulong physPage)
    {
        for (int i = 0; i < _tlb.Length; i++)
        {
            if (_tlb[i].PhysPage == physPage)
            {
                _tlb[i].WriteTag = NoTag;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadMem(ulong la, int size)
    {
        ref var e = ref _tlb[(int)(la >> 12) & TlbMask];
        uint off = (uint)la & 0xFFF;
        if (e.ReadTag == (la & ~0xFFFUL) && off + (uint)size <= 4096)
        {
            byte* p = (byte*)e.Host + off;
            return size switch
            {
                8 => Unsafe.ReadUnaligned<ulong>(p),
                4 => Unsafe.ReadUnaligned<uint>(p),
                1 => *p,
                _ => Unsafe.ReadUnaligned<ushort>(p),
            };
        }

        return ReadMemSlow(la, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteMem(ulong la, int size, ulong value)
    {
        ref var e = ref _tlb[(int)(la >> 12) & TlbMask];
        uint off = (uint)la & 0xFFF;
        if (e.WriteTag == (la & ~0xFFFUL) && off + (uint)size <= 4096)
        {
            byte* p = (byte*)e.Host + off;
            switch (size)
            {
                case 8: Unsafe.WriteUnaligned(p, value); break;
                case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
                case 1: *p = (byte)value; break;
                default: Unsafe.WriteUnaligned(p, (ushort)value); break;
            }

            return;
        }

        WriteMemSlow(la, size, value);
    }

    private ulong ReadMemSlow(ulong la, int size)
    {
        if ((la & 0xFFF) + (ulong)size > 4096)
        {
            ulong v = 0;
            for (int i = 0; i < size; i++)
            {
                v |= ReadMem(la + (ulong)i, 1) << (8 * i);
            }

            return v;
        }

        return PhysRead(Translate(la, Access.Read), size);
    }

    private void WriteMemSlow(ulong la, int size, ulong value)
    {
        if ((la & 0xFFF) + (ulong)size > 4096)
        {
            // Check both pages before writing a byte, so a fault leaves memory unchanged.
            Translate(la, Access.Write);
            Translate(la + (ulong)size - 1, Access.Write);
            for (int i = 0; i < size; i++)
            {
                WriteMem(la + (ulong)i, 1, value >> (8 * i));
            }

            return;
        }

        PhysWrite(Translate(la, Access.Write), size, value);
    }

    /// <summary>Checks that a write of <paramref name="size"/> bytes at <paramref name="la"/> would not fault.</summary>
    internal void ProbeWrite(ulong la, int size)
    {
        Translate(la, Access.Write);
        if ((la & 0xFFF) + (ulong)size > 4096)
        {
            Translate(la + (ulong)size - 1, Access.Write);
        }
    }

    internal ulong PhysRead(ulong pa, int size)
    {
        if (_ram.TryGetSpan(pa, size, out var s))
        {
            return size switch
            {
                8 => BinaryPrimitives.ReadUInt64LittleEndian(s),
                4 => BinaryPrimitives.ReadUInt32LittleEndian(s),
                2 => BinaryPrimitives.ReadUInt16LittleEndian(s),
                _ => s[0],
            };
        }

        EndSliceForDevices();
        Span<byte> buf = stackalloc byte[8];
        buf.Clear();
        _memory.TryRead(pa, buf[..size]);
        return BinaryPrimitives.ReadUInt64LittleEndian(buf);
    }

    internal void PhysWrite(ulong pa, int size, ulong value)
    {
        Span<byte> buf = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(buf, value);
        if (_ram.TryGetSpan(pa, size, out var span))
        {
            if (_memory.IsReadOnly(pa, (ulong)size))
            {
                _memory.TryWrite(pa, buf[..size]); // dropped and reported
                return;
            }

            buf[..size].CopyTo(span);
            if (_codePages.Count != 0 && StoreHitsDecodedCode(pa, size))
            {
                // Only the vCPU watches pages (GuestRam's write-watch exists for its decode cache), so stores
                // that miss decoded bytes need no notification; this one drops the page's decoded instructions.
                _ram.NotifyWrite(pa, (ulong)size);
                if (_codePages.ContainsKey(pa & ~0xFFFUL))
                {
                    OnCodePageWritten(pa & ~0xFFFUL);
                }
            }

            return;
        }

        EndSliceForDevices();
        _memory.TryWrite(pa, buf[..size]);
    }

    /// <summary>Translates for an access, from the TLB or by walking the tables; raises #PF or #GP.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Translate(ulong la, Access access)
    {
        ref var e = ref _tlb[(int)(la >> 12) & TlbMask];
        if (e.VPage == (la & ~0xFFFUL)
            && (access == Access.Read || (access == Access.Write ? (e.Perm & PermWrite) != 0 : (e.Perm & PermExec) != 0)))
        {
            return e.PhysPage | (la & 0xFFF);
        }

        return Walk(la, access, fault: true, out _);
    }

    private bool TryTranslateNoFault(ulong la, out ulong pa)
    {
        pa = Walk(la, Access.Read, fault: false, out bool ok);
        return ok;
    }

    private ulong Walk(ulong la, Access access, bool fault, out bool ok)
    {
        ok = false;
        PageWalks++;
        ulong vpage = la & ~0xFFFUL;
        if ((_cr0 & Spec.Cr0.PG) == 0)
        {
            ok = true;
            if (fault)
            {
                Fill(vpage, la & ~0xFFFUL & 0xFFFF_FFFF_FFFF, PermWrite | PermExec, large: false);
            }

            return la;
        }

        if ((ulong)(((long)la << 16) >> 16) != la)
        {
            if (fault)
            {
                RaiseFault(Vector.GP, 0);
            }

            return 0;
        }

        uint accessBits = access switch
        {
            Access.Write => PfError.Write,
            Access.Execute => (_efer & Spec.Efer.NXE) != 0 ? PfError.Fetch : 0,
            _ => 0,
        };
        bool nxe = (_efer & Spec.Efer.NXE) != 0;
        ulong table = _cr3 & Pte.AddressMask & ~ReservedAbovePhys;
        bool writable = true;
        bool executable = true;
        ulong pte = 0;
        int shift = 39;
        int level = 4;
        for (; level >= 1; level--, shift -= 9)
        {
            ulong entryAddr = table + (((la >> shift) & 0x1FF) * 8);
            pte = PhysRead(entryAddr, 8);
            if ((pte & Pte.P) == 0)
            {
                return WalkFault(la, accessBits, fault);
            }

            bool leaf = level == 1 || (level <= 3 && (pte & Pte.PS) != 0);
            ulong reserved = ReservedAbovePhys;
            if (!nxe)
            {
                reserved |= Pte.XD;
            }

            if (level == 4)
            {
                reserved |= Pte.PS;
            }
            else if (leaf && level == 3)
            {
                reserved |= 0x3FFF_E000;
            }
            else if (leaf && level == 2)
            {
                reserved |= 0x1F_E000;
            }

            if ((pte & reserved) != 0)
            {
                return WalkFault(la, accessBits | PfError.Present | PfError.Reserved, fault);
            }

            writable &= (pte & Pte.RW) != 0;
            executable &= !nxe || (pte & Pte.XD) == 0;
            if (!leaf && (pte & Pte.A) == 0 && fault)
            {
                PhysWrite(entryAddr, 8, pte | Pte.A);
            }

            if (leaf)
            {
                if (access == Access.Write && !writable && (_cr0 & Spec.Cr0.WP) != 0)
                {
                    return WalkFault(la, accessBits | PfError.Present, fault);
                }

                if (access == Access.Execute && !executable)
                {
                    return WalkFault(la, accessBits | PfError.Present, fault);
                }

                ulong newPte = pte | Pte.A | (access == Access.Write ? Pte.D : 0);
                if (newPte != pte && fault)
                {
                    PhysWrite(entryAddr, 8, newPte);
                    pte = newPte;
                }

                break;
            }

            table = pte & Pte.AddressMask;
        }

        ulong pageMask = level switch { 3 => (1UL << 30) - 1, 2 => (1UL << 21) - 1, _ => 0xFFFUL };
        ulong physPage = ((pte & Pte.AddressMask & ~pageMask) | (la & pageMask)) & ~0xFFFUL;
        ok = true;
        if (fault)
        {
            byte perm = 0;
            if ((writable || (_cr0 & Spec.Cr0.WP) == 0) && (pte & Pte.D) != 0)
            {
                perm |= PermWrite;
            }

            if (executable)
            {
                perm |= PermExec;
            }

            Fill(vpage, physPage, perm, level > 1);
        }

        return physPage | (la & 0xFFF);
    }

    private ulong WalkFault(ulong la, uint errorCode, bool fault)
    {
        if (fault)
        {
            _cr2 = la;
            RaiseFault(Vector.PF, errorCode);
        }

        return 0;
    }

    private void Fill(ulong vpage, ulong physPage, byte perm, bool large)
    {
        ref var e = ref _tlb[(int)(vpage >> 12) & TlbMask];
        e.VPage = vpage;
        e.PhysPage = physPage;
        e.Perm = perm;
        e.ReadTag = NoTag;
        e.WriteTag = NoTag;
        e.Host = 0;
        _tlbHasLargePages |= large;
        if (_ram.TryGetSpan(physPage, 4096, out var span))
        {
            e.Host = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));
            e.ReadTag = vpage;
            if ((perm & PermWrite) != 0 && !_codePages.ContainsKey(physPage) && !_memory.IsReadOnly(physPage, 4096))
            {
                e.WriteTag = vpage;
            }
        }
    }
}
