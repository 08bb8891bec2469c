using Iced.Intel;
using ManagedVmm.Cpu.X86.Spec;
using static Iced.Intel.AssemblerRegisters;

namespace ManagedVmm.Cpu.X86.Tests;

public sealed class InstructionTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void RepMovsAndStos_CopyAndFill_InEitherDirection(bool down)
    {
        using var bed = new CpuTestBed(o => o.RepIterationsPerStep = 7);
        for (int i = 0; i < 100; i++)
        {
            bed.Ram.TryWrite(0x200000 + (ulong)i, [(byte)(i + 1)]);
        }

        bed.Execute(a =>
        {
            if (down)
            {
                a.std();
                a.mov(rsi, 0x200000 + 99);
                a.mov(rdi, 0x300000 + 99);
            }
            else
            {
                a.mov(rsi, 0x200000);
                a.mov(rdi, 0x300000);
            }

            a.mov(ecx, 100);
            a.rep.movsb();
            a.mov(rdi, 0x400000);
            a.cld();
            a.mov(eax, 0xAB);
            a.mov(ecx, 33);
            a.rep.stosd();
            a.hlt();
        });
        var copy = new byte[100];
        bed.Ram.TryRead(0x300000, copy);
        var fill = new byte[136];
        bed.Ram.TryRead(0x400000, fill);
        Assert.Multiple(() =>
        {
            Assert.That(copy, Is.EqualTo(Enumerable.Range(1, 100).Select(i => (byte)i).ToArray()));
            Assert.That(fill.Take(132).Where((b, i) => b != (i % 4 == 0 ? 0xAB : 0)), Is.Empty);
            Assert.That(fill.Skip(132), Is.All.Zero);
            Assert.That(bed.Cpu[Gpr.Rcx], Is.Zero);
            Assert.That(bed.Cpu[Gpr.Rsi], Is.EqualTo(down ? 0x200000UL - 1 : 0x200000UL + 100));
        });
    }

    [Test]
    public void RepneScasb_FindsTheTerminator_LikeStrlen()
    {
        using var bed = new CpuTestBed();
        bed.Ram.TryWrite(0x200000, "hello, world\0"u8);
        bed.Execute(a =>
        {
            a.mov(rdi, 0x200000);
            a.xor(eax, eax);
            a.mov(rcx, -1L);
            a.repne.scasb();
            a.not(rcx);
            a.dec(rcx);
            a.hlt();
        });
        Assert.That(bed.Cpu[Gpr.Rcx], Is.EqualTo(12UL));
    }

    [Test]
    public void RepeCmpsb_StopsAtTheFirstDifference()
    {
        using var bed = new CpuTestBed();
        bed.Ram.TryWrite(0x200000, "abcdef"u8);
        bed.Ram.TryWrite(0x200100, "abcxef"u8);
        bed.Execute(a =>
        {
            a.mov(rsi, 0x200000);
            a.mov(rdi, 0x200100);
            a.mov(ecx, 6);
            a.repe.cmpsb();
            a.setne(r8b);
            a.hlt();
        });
        Assert.That((bed.Cpu[Gpr.Rcx], bed.Cpu[Gpr.R8] & 0xFF), Is.EqualTo((2UL, 1UL)));
    }

    [Test]
    public void LockedAtomics_XaddCmpxchgCmpxchg16bXchg()
    {
        using var bed = new CpuTestBed();
        bed.W64(0x200000, 5);
        bed.W64(0x200010, 0x1111);
        bed.W64(0x200018, 0x2222);
        bed.Execute(a =>
        {
            a.mov(rdi, 0x200000);
            a.mov(eax, 3);
            a.@lock.xadd(__qword_ptr[rdi], rax);          // [rdi] = 8, rax = 5
            a.mov(r8, rax);
            a.mov(eax, 8);
            a.mov(ecx, 42);
            a.@lock.cmpxchg(__qword_ptr[rdi], rcx);       // equal: [rdi] = 42
            a.setz(r9b);
            a.mov(eax, 1);
            a.@lock.cmpxchg(__qword_ptr[rdi], rcx);       // not equal: rax = 42
            a.mov(r10, rax);
            a.mov(eax, 0x1111);
            a.mov(edx, 0x2222);
            a.mov(ebx, 0xAAAA);
            a.mov(ecx, 0xBBBB);
            a.@lock.cmpxchg16b(__[rdi + 0x10]);
            a.setz(r11b);
            a.mov(eax, 7);
            a.xchg(__qword_ptr[rdi], rax);
            a.hlt();
        });
        Assert.Multiple(() =>
        {
            Assert.That(bed.Cpu[Gpr.R8], Is.EqualTo(5UL));
            Assert.That(bed.Cpu[Gpr.R9] & 0xFF, Is.EqualTo(1UL));
            Assert.That(bed.Cpu[Gpr.R10], Is.EqualTo(42UL));
            Assert.That(bed.Cpu[Gpr.R11] & 0xFF, Is.EqualTo(1UL));
            Assert.That((bed.R64(0x200010), bed.R64(0x200018)), Is.EqualTo((0xAAAAUL, 0xBBBBUL)));
            Assert.That((bed.R64(0x200000), bed.Cpu[Gpr.Rax]), Is.EqualTo((7UL, 42UL)));
        });
    }

    [Test]
    public void WideMultiplyAndDivide_128Bit()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a =>
        {
            a.mov(rax, 0xFFFF_FFFF_FFFF_FFFFUL);
            a.mov(rbx, 0x1234_5678_9ABC_DEF0UL);
            a.mul(rbx);               // rdx:rax = product
            a.mov(r8, rax);
            a.mov(r9, rdx);
            a.div(rbx);               // back to 0xFFFF...
            a.mov(r10, rax);
            a.mov(r11, rdx);
            a.hlt();
        });
        UInt128 p = (UInt128)0xFFFF_FFFF_FFFF_FFFFUL * 0x1234_5678_9ABC_DEF0UL;
        Assert.Multiple(() =>
        {
            Assert.That((bed.Cpu[Gpr.R8], bed.Cpu[Gpr.R9]), Is.EqualTo(((ulong)p, (ulong)(p >> 64))));
            Assert.That((bed.Cpu[Gpr.R10], bed.Cpu[Gpr.R11]), Is.EqualTo((0xFFFF_FFFF_FFFF_FFFFUL, 0UL)));
        });
    }

    [Test]
    public void BitScansAndCounts_FollowCpuidFeatures()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a =>
        {
            a.mov(eax, 0x0F00);
            a.tzcnt(ebx, eax);
            a.lzcnt(ecx, eax);
            a.popcnt(edx, eax);
            a.bsr(esi, eax);
            a.xor(r8d, r8d);
            a.tzcnt(r9, r8);
            a.bt(eax, 9);
            a.setc(r10b);
            a.hlt();
        });
        Assert.Multiple(() =>
        {
            Assert.That(bed.Cpu[Gpr.Rbx], Is.EqualTo(8UL));
            Assert.That(bed.Cpu[Gpr.Rcx], Is.EqualTo(20UL));
            Assert.That(bed.Cpu[Gpr.Rdx], Is.EqualTo(4UL));
            Assert.That(bed.Cpu[Gpr.Rsi], Is.EqualTo(11UL));
            Assert.That(bed.Cpu[Gpr.R9], Is.EqualTo(64UL));
            Assert.That(bed.Cpu[Gpr.R10] & 0xFF, Is.EqualTo(1UL));
        });
        var leaf7 = bed.Cpu.Cpuid(7, 0);
        var leaf1 = bed.Cpu.Cpuid(1, 0);
        Assert.That(leaf7.Ebx & (1 << 3), Is.Not.Zero, "BMI1 advertised for TZCNT");
        Assert.That(leaf1.Ecx & (1 << 23), Is.Not.Zero, "POPCNT advertised");
    }

    [Test]
    public void CmovSetccMovsxdCqoShldAndHighByteRegisters()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a =>
        {
            a.mov(rax, 0xFFFF_FFFF_1234_5678UL);
            a.mov(ecx, 1);
            a.cmp(ecx, 2);
            a.cmovl(ebx, ecx);         // taken
            a.cmovg(eax, ecx);         // not taken, still clears the upper half
            a.movsxd(rdx, ecx);
            a.mov(ah, 0x9A);
            a.mov(r8, rax);
            a.mov(r9d, -5);
            a.movsxd(r10, r9d);
            a.mov(rax, r10);
            a.cqo();
            a.mov(r11, rdx);
            a.mov(r12, 0x8000_0000_0000_0001UL);
            a.mov(r13, 0xF000_0000_0000_0000UL);
            a.shld(r12, r13, 4);
            a.hlt();
        });
        Assert.Multiple(() =>
        {
            Assert.That(bed.Cpu[Gpr.Rbx], Is.EqualTo(1UL));
            Assert.That(bed.Cpu[Gpr.R8], Is.EqualTo(0x1234_9A78UL));
            Assert.That(bed.Cpu[Gpr.R10], Is.EqualTo(unchecked((ulong)-5L)));
            Assert.That(bed.Cpu[Gpr.R11], Is.EqualTo(ulong.MaxValue));
            Assert.That(bed.Cpu[Gpr.R12], Is.EqualTo(0x0000_0000_0000_001FUL));
        });
    }

    [Test]
    public void CallRetEnterLeaveAndJumpTables()
    {
        using var bed = new CpuTestBed();
        bed.Load(a =>
        {
            a.mov(r9d, 77);
            a.hlt();
        }, 0x30000);
        bed.W64(0x200000, 0);
        bed.W64(0x200008, 0x30000);
        bed.Execute(a =>
        {
            var func = a.CreateLabel();
            var go = a.CreateLabel();
            a.jmp(go);
            a.Label(ref func);
            a.enter(16, 0);
            a.mov(__qword_ptr[rbp - 8], rdi);
            a.lea(rax, __[rdi + rdi * 2 + 1]);
            a.leave();
            a.ret();
            a.Label(ref go);
            a.mov(edi, 20);
            a.push(rbx);
            a.call(func);
            a.pop(rbx);
            a.mov(r8, rax);
            a.mov(ecx, 1);
            a.mov(edx, 0x200000);
            a.jmp(__qword_ptr[rdx + rcx * 8]);
        });
        Assert.Multiple(() =>
        {
            Assert.That(bed.Cpu[Gpr.R8], Is.EqualTo(61UL));
            Assert.That(bed.Cpu[Gpr.R9], Is.EqualTo(77UL));
            Assert.That(bed.Cpu[Gpr.Rsp], Is.EqualTo(CpuTestBed.StackTop));
        });
    }

    [Test]
    public void SseMovesAndIntegerOps_AsGccEmitsThemForMemcpyAndStrlen()
    {
        using var bed = new CpuTestBed();
        for (int i = 0; i < 32; i++)
        {
            bed.Ram.TryWrite(0x200000 + (ulong)i, [(byte)(0x10 + i)]);
        }

        bed.Ram.TryWrite(0x200005, [0]);
        bed.Execute(a =>
        {
            a.mov(rsi, 0x200000);
            a.mov(rdi, 0x300000);
            a.movdqu(xmm0, __xmmword_ptr[rsi]);
            a.movups(xmm1, __xmmword_ptr[rsi + 16]);
            a.movdqa(__xmmword_ptr[rdi], xmm0);
            a.movups(__xmmword_ptr[rdi + 16], xmm1);
            a.pxor(xmm2, xmm2);
            a.pcmpeqb(xmm2, xmm0);
            a.pmovmskb(eax, xmm2);       // bit 5 set: the zero byte
            a.mov(rcx, 0x0102_0304_0506_0708UL);
            a.movq(xmm3, rcx);
            a.punpcklqdq(xmm3, xmm3);
            a.pshufd(xmm4, xmm3, 0x1B);
            a.movq(rdx, xmm4);
            a.hlt();
        });
        var copy = new byte[32];
        bed.Ram.TryRead(0x300000, copy);
        var src = new byte[32];
        bed.Ram.TryRead(0x200000, src);
        Assert.Multiple(() =>
        {
            Assert.That(copy, Is.EqualTo(src));
            Assert.That(bed.Cpu[Gpr.Rax], Is.EqualTo(1UL << 5));
            Assert.That(bed.Cpu[Gpr.Rdx], Is.EqualTo(0x0506_0708_0102_0304UL));
        });
    }

    [Test]
    public void SelfModifyingCode_IsSeenByTheDecodeCache()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a =>
        {
            var patch = a.CreateLabel();
            a.xor(r8d, r8d);
            a.mov(ecx, 2);
            a.Label(ref patch);
            a.add(r8d, 1);              // 41 83 C0 01: the immediate byte is patched to 5 after the first pass
            a.lea(rax, __[patch]);
            a.mov(__byte_ptr[rax + 3], 5);
            a.dec(ecx);
            a.jnz(patch);
            a.hlt();
        });
        Assert.That(bed.Cpu[Gpr.R8], Is.EqualTo(6UL));
        Assert.That(bed.Cpu.CodePageInvalidations, Is.GreaterThan(0));
    }

    [Test]
    public void DmaWriteToACodePage_InvalidatesDecodedInstructions()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a =>
        {
            a.mov(eax, 1);
            a.hlt();
        });
        Assert.That(bed.Cpu[Gpr.Rax], Is.EqualTo(1UL));
        // A device (or the loader) rewrites the immediate through RAM, not through the CPU.
        bed.Ram.TryWrite(CpuTestBed.CodeBase + 1, [2]);
        bed.Cpu.Rip = CpuTestBed.CodeBase;
        bed.RunToHalt();
        Assert.That(bed.Cpu[Gpr.Rax], Is.EqualTo(2UL));
    }

    [Test]
    public void PortIo_ReachesThePortBus_AndMsrAndCrAccessWork()
    {
        using var bed = new CpuTestBed();
        var port = new RecordingPort();
        bed.W64(0x200020, 0x5EED);
        bed.Ports.Add(0xF4, 4, port, "debug");
        bed.Execute(a =>
        {
            a.mov(al, 0x42);
            a.@out(0xF4, al);
            a.mov(dx, 0xF4);
            a.@in(eax, dx);
            a.mov(r8, rax);
            a.mov(ecx, unchecked((int)Msr.IA32_FS_BASE));
            a.mov(eax, 0x200000);
            a.xor(edx, edx);
            a.wrmsr();
            a.mov(rbx, __qword_ptr.fs[0x20]); // fs:0x20 → 0x200020
            a.mov(ecx, unchecked((int)Msr.IA32_EFER));
            a.rdmsr();
            a.mov(r9, rax);
            a.mov(r10, cr3);
            a.hlt();
        });
        Assert.Multiple(() =>
        {
            Assert.That(port.Written, Is.EqualTo(new[] { (0, 0x42u) }));
            Assert.That(bed.Cpu[Gpr.R8], Is.EqualTo(0xCAFEUL));
            Assert.That(bed.Cpu[Gpr.R9] & Efer.LMA, Is.Not.Zero);
            Assert.That(bed.Cpu[Gpr.R10], Is.EqualTo(CpuTestBed.Pml4));
            Assert.That(bed.Cpu[Gpr.Rbx], Is.EqualTo(0x5EEDUL), "FS segment override adds FS.base");
        });
    }

    [Test]
    public void UnknownMsr_RaisesGp()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a =>
        {
            a.mov(ecx, 0x1234);
            a.rdmsr();
            a.hlt();
        });
        Assert.That(bed.Cpu.Rip, Is.EqualTo(CpuTestBed.HandlerAddress(Vector.GP) + 1));
    }

    private sealed class RecordingPort : Core.Buses.IPortIoDevice
    {
        public List<(int Offset, uint Value)> Written { get; } = [];

        public void Read(ushort offset, Span<byte> data)
        {
            data.Clear();
            if (data.Length >= 2)
            {
                data[0] = 0xFE;
                data[1] = 0xCA;
            }
        }

        public void Write(ushort offset, ReadOnlySpan<byte> data) => Written.Add((offset, data[0]));
    }
}
