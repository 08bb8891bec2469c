using Iced.Intel;
using ManagedVmm.Core;
using ManagedVmm.Cpu.X86.Spec;
using static Iced.Intel.AssemblerRegisters;

namespace ManagedVmm.Cpu.X86.Tests;

public sealed class ExceptionTests
{
    [Test]
    public void DivideByZero_DeliversDE_WithRipOfTheFaultingInstruction()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a =>
        {
            a.mov(eax, 10);
            a.xor(ecx, ecx);
            a.div(ecx);
            a.hlt();
        });
        ulong frame = bed.Cpu[Gpr.Rsp];
        Assert.Multiple(() =>
        {
            Assert.That(bed.Cpu.Rip, Is.EqualTo(CpuTestBed.HandlerAddress(Vector.DE) + 1), "stopped at the #DE handler's HLT");
            Assert.That(bed.R64(frame), Is.EqualTo(CpuTestBed.CodeBase + 7), "pushed RIP = the DIV (fault semantics)");
            Assert.That(bed.R64(frame + 8), Is.EqualTo(0x08UL), "CS");
            Assert.That(bed.R64(frame + 24), Is.EqualTo(CpuTestBed.StackTop), "old RSP");
            Assert.That(frame, Is.EqualTo(CpuTestBed.StackTop - 40), "five quadwords, no error code");
        });
    }

    [Test]
    public void UnimplementedInstruction_DeliversUD_AndIsLoggedWithDisassembly()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a =>
        {
            a.fld1(); // x87 is not modelled
            a.hlt();
        });
        Assert.Multiple(() =>
        {
            Assert.That(bed.Cpu.Rip, Is.EqualTo(CpuTestBed.HandlerAddress(Vector.UD) + 1));
            Assert.That(bed.R64(bed.Cpu[Gpr.Rsp]), Is.EqualTo(CpuTestBed.CodeBase));
            Assert.That(bed.Errors.Contains("fld1"), Is.True, "the guest-error log names the instruction");
        });
    }

    [Test]
    public void Ud2_DeliversUD()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a => a.ud2());
        Assert.That(bed.Cpu.Rip, Is.EqualTo(CpuTestBed.HandlerAddress(Vector.UD) + 1));
    }

    [Test]
    public void Int3_IsATrap_PushingTheNextRip()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a =>
        {
            a.int3();
            a.hlt();
        });
        Assert.That(bed.R64(bed.Cpu[Gpr.Rsp]), Is.EqualTo(CpuTestBed.CodeBase + 1));
        Assert.That(bed.Cpu.Rip, Is.EqualTo(CpuTestBed.HandlerAddress(Vector.BP) + 1));
    }

    [Test]
    public void InterruptGate_ClearsIF_AndIretqRestoresState()
    {
        using var bed = new CpuTestBed();
        // Handler for vector 0x40: set r9 = 1, iretq.
        bed.Load(a =>
        {
            a.mov(r9d, 1);
            a.iretq();
        }, 0x30000);
        bed.SetGate(0x40, 0x30000, ist: 0);
        bed.Execute(a =>
        {
            a.mov(rbx, 0x1234);
            a.push(0x202 | 0x1); // IF and CF
            a.popfq();
            a.@int(0x40);
            a.pushfq();
            a.pop(r10);
            a.cli();
            a.hlt();
        });
        Assert.Multiple(() =>
        {
            Assert.That(bed.Cpu[Gpr.R9], Is.EqualTo(1UL), "handler ran");
            Assert.That(bed.Cpu[Gpr.R10] & 0x201, Is.EqualTo(0x201UL), "IF and CF restored by IRETQ");
            Assert.That(bed.Cpu[Gpr.Rsp], Is.EqualTo(CpuTestBed.StackTop), "stack balanced");
            Assert.That(bed.Cpu[Gpr.Rbx], Is.EqualTo(0x1234UL));
        });
    }

    [Test]
    public void Ist_SwitchesToTheTssStack()
    {
        using var bed = new CpuTestBed();
        bed.SetGate(Vector.UD, CpuTestBed.HandlerAddress(Vector.UD), ist: 1);
        bed.Execute(a => a.ud2());
        Assert.That(bed.Cpu[Gpr.Rsp], Is.EqualTo(CpuTestBed.Ist1Top - 40));
    }

    [Test]
    public void PageFault_ReportsCr2AndErrorCode_ForNotPresentAndWriteProtect()
    {
        using var bed = new CpuTestBed();
        // Map 0x4000_0000 (1 GiB) with a 4 KiB table: page 0 not present, page 1 read-only.
        bed.W64(CpuTestBed.Pdpt + 8, 0x5000 | 3);
        bed.W64(0x5000, 0x7000 | 3);
        bed.W64(0x7000, 0);
        bed.W64(0x7008, 0x90000 | 1); // present, read-only
        bed.Execute(a =>
        {
            a.mov(rax, 0x4000_0010UL);
            a.mov(rbx, __qword_ptr[rax]);
            a.hlt();
        });
        Assert.Multiple(() =>
        {
            Assert.That(bed.Cpu.Rip, Is.EqualTo(CpuTestBed.HandlerAddress(Vector.PF) + 1));
            Assert.That(bed.Cpu.Cr2, Is.EqualTo(0x4000_0010UL));
            Assert.That(bed.R64(bed.Cpu[Gpr.Rsp]), Is.EqualTo(0UL), "error code: not present, read");
            Assert.That(bed.R64(bed.Cpu[Gpr.Rsp] + 8), Is.EqualTo(CpuTestBed.CodeBase + 10), "RIP of the faulting MOV");
        });

        using var bed2 = new CpuTestBed();
        bed2.W64(CpuTestBed.Pdpt + 8, 0x5000 | 3);
        bed2.W64(0x5000, 0x7000 | 3);
        bed2.W64(0x7008, 0x90000 | 1);
        bed2.Execute(a =>
        {
            a.mov(rax, 0x4000_1008UL);
            a.mov(rbx, __qword_ptr[rax]); // read succeeds
            a.mov(rcx, 0x10000);          // CR0.WP
            a.mov(rdx, cr0);
            a.or(rdx, rcx);
            a.mov(cr0, rdx);
            a.mov(__qword_ptr[rax], rbx);  // write faults
            a.hlt();
        });
        Assert.Multiple(() =>
        {
            Assert.That(bed2.Cpu.Cr2, Is.EqualTo(0x4000_1008UL));
            Assert.That(bed2.R64(bed2.Cpu[Gpr.Rsp]), Is.EqualTo((ulong)(PfError.Present | PfError.Write)));
            Assert.That(bed2.R64(0x7008) & Pte.A, Is.Not.Zero, "accessed bit set by the walk");
            Assert.That(bed2.R64(0x7008) & Pte.D, Is.Zero, "no dirty bit on a refused write");
        });
    }

    [Test]
    public void Paging_SetsDirtyBit_AndInvlpgSeesANewMapping()
    {
        using var bed = new CpuTestBed();
        bed.W64(CpuTestBed.Pdpt + 8, 0x5000 | 3);
        bed.W64(0x5000, 0x7000 | 3);
        bed.W64(0x7000, 0x90000 | 3);
        bed.Execute(a =>
        {
            a.mov(rax, 0x4000_0000UL);
            a.mov(__qword_ptr[rax], 0x55);
            a.mov(rbx, 0x7000);
            a.mov(__qword_ptr[rbx], 0x91000 | 3);   // remap the page
            a.mov(rcx, __qword_ptr[rax]);           // stale TLB entry may still answer
            a.invlpg(__[rax]);
            a.mov(rdx, __qword_ptr[rax]);           // new mapping
            a.hlt();
        });
        Assert.Multiple(() =>
        {
            Assert.That(bed.R64(0x90000), Is.EqualTo(0x55UL));
            Assert.That(bed.Cpu[Gpr.Rdx], Is.EqualTo(0UL), "after INVLPG the new (zero) page is read");
            Assert.That(bed.Cpu[Gpr.Rcx], Is.EqualTo(0x55UL), "the TLB kept the old translation until INVLPG");
        });
    }

    [Test]
    public void MissingIdtGates_EndInTripleFault_WithADiagnostic()
    {
        using var bed = new CpuTestBed();
        bed.Cpu.Idtr = new TableRegister(CpuTestBed.IdtBase, 0); // every gate out of the IDT limit
        var r = bed.Execute(a => a.ud2());
        Assert.Multiple(() =>
        {
            Assert.That(r.Reason, Is.EqualTo(VmStopReason.TripleFault));
            Assert.That(bed.Stop.Reason, Is.EqualTo(VmStopReason.TripleFault));
            Assert.That(bed.Stop.Message, Does.Contain("rip=").And.Contain("ud2"));
        });
    }

    [Test]
    public void JumpIntoTheVoid_FaultsInsteadOfCrashingTheHost()
    {
        using var bed = new CpuTestBed();
        bed.Execute(a =>
        {
            a.mov(rax, 0x8000_0000_0000UL); // non-canonical
            a.jmp(rax);
        });
        Assert.That(bed.Cpu.Rip, Is.EqualTo(CpuTestBed.HandlerAddress(Vector.GP) + 1));
    }
}
