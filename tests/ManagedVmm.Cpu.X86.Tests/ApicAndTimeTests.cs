using Iced.Intel;
using ManagedVmm.Core;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Cpu.X86.Apic;
using static Iced.Intel.AssemblerRegisters;

namespace ManagedVmm.Cpu.X86.Tests;

public sealed class ApicAndTimeTests
{
    private const ulong Apic = ApicRegister.DefaultBase;

    /// <summary>Handler at 0x30000 for vector 0x30: r12++, EOI, iretq.</summary>
    private static void InstallCountingHandler(CpuTestBed bed)
    {
        bed.Load(a =>
        {
            a.inc(r12);
            a.mov(rax, Apic + ApicRegister.Eoi);
            a.mov(__dword_ptr[rax], 0);
            a.iretq();
        }, 0x30000);
        bed.SetGate(0x30, 0x30000, ist: 0);
    }

    private static void EnableApicAndTimer(Assembler a, uint lvt, uint initialCount, uint divide)
    {
        a.mov(rbx, Apic);
        a.mov(__dword_ptr[rbx + ApicRegister.Svr], 0x1FF);
        a.mov(__dword_ptr[rbx + ApicRegister.TimerDivide], (int)divide);
        a.mov(__dword_ptr[rbx + ApicRegister.LvtTimer], (int)lvt);
        a.mov(__dword_ptr[rbx + ApicRegister.TimerInitialCount], (int)initialCount);
    }

    [Test]
    public void OneShotTimer_FiresOnce_AndHltWakesForIt()
    {
        using var bed = new CpuTestBed();
        InstallCountingHandler(bed);
        bed.Execute(a =>
        {
            EnableApicAndTimer(a, 0x30, 1000, 0xB); // divide by 1: 1000 ticks at 1 GHz = 1 µs
            a.sti();
            a.hlt();
            a.cli();
            a.hlt();
        });
        Assert.Multiple(() =>
        {
            Assert.That(bed.Cpu[Gpr.R12], Is.EqualTo(1UL));
            Assert.That(bed.Scheduler.Now, Is.GreaterThanOrEqualTo(1000L), "the clock jumped to the deadline");
            Assert.That(bed.Scheduler.Now, Is.LessThan(1100L));
            Assert.That(bed.Apic.ReadRegister(ApicRegister.TimerCurrentCount), Is.Zero);
        });
    }

    [Test]
    public void PeriodicTimer_FiresEveryPeriod_InVirtualTime()
    {
        using var bed = new CpuTestBed();
        InstallCountingHandler(bed);
        bed.Load(a =>
        {
            EnableApicAndTimer(a, 0x30 | (1 << 17), 500, 0x1); // divide by 4: 2 µs period
            a.sti();
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.hlt();
            a.jmp(loop);
        });
        bed.Cpu.Rip = CpuTestBed.CodeBase;
        var r = bed.Cpu.Run(new RunLimits(VirtualTimeLimitNs: 20_500));
        Assert.Multiple(() =>
        {
            Assert.That(r.Reason, Is.EqualTo(VmStopReason.TimeLimit));
            Assert.That(bed.Cpu[Gpr.R12], Is.EqualTo(10UL), "20.5 µs / 2 µs");
            Assert.That(bed.Apic.TimerFirings, Is.EqualTo(10));
        });
    }

    [Test]
    public void MaskedTimer_DoesNotInterrupt_AndCurrentCountFollowsVirtualTime()
    {
        using var bed = new CpuTestBed(o => o.InstructionTimePs = 1000);
        bed.Execute(a =>
        {
            EnableApicAndTimer(a, 0x30 | (1 << 16), 1_000_000, 0xB);
            for (int i = 0; i < 100; i++)
            {
                a.nop();
            }

            a.mov(ecx, __dword_ptr[rbx + ApicRegister.TimerCurrentCount]);
            a.hlt();
        });
        uint count = (uint)bed.Cpu[Gpr.Rcx];
        Assert.That(count, Is.InRange(1_000_000u - 110, 1_000_000u - 100));
    }

    [Test]
    public void Msi_SetsIrr_AndIsDeliveredWhenIfIsSet_InPriorityOrder()
    {
        using var bed = new CpuTestBed();
        bed.Load(a =>
        {
            a.mov(r13, r12);
            a.shl(r13, 8);
            a.mov(r12, r13);
            a.or(r12, 0x40);
            a.mov(rax, Apic + ApicRegister.Eoi);
            a.mov(__dword_ptr[rax], 0);
            a.iretq();
        }, 0x30000);
        bed.Load(a =>
        {
            a.shl(r12, 8);
            a.or(r12, 0x90);
            a.mov(rax, Apic + ApicRegister.Eoi);
            a.mov(__dword_ptr[rax], 0);
            a.iretq();
        }, 0x31000);
        bed.SetGate(0x40, 0x30000, 0);
        bed.SetGate(0x90, 0x31000, 0);
        bed.Execute(a =>
        {
            a.mov(rbx, Apic);
            a.mov(__dword_ptr[rbx + ApicRegister.Svr], 0x1FF);
            a.hlt();
        });
        bed.Apic.Signal(default, new MsiMessage(0xFEE0_0000, 0x40));
        bed.Apic.Signal(default, new MsiMessage(0xFEE0_0000, 0x90));
        Assert.That(bed.Apic.HasDeliverableInterrupt, Is.True);
        bed.Execute(a =>
        {
            a.sti();
            a.nop();
            a.cli();
            a.hlt();
        });
        Assert.That(bed.Cpu[Gpr.R12] & 0xFFFF, Is.EqualTo(0x9040UL), "vector 0x90 (higher class) first, then 0x40");
    }

    [Test]
    public void StiShadow_DelaysTheInterruptByOneInstruction()
    {
        using var bed = new CpuTestBed();
        InstallCountingHandler(bed);
        bed.Execute(a =>
        {
            a.mov(rbx, Apic);
            a.mov(__dword_ptr[rbx + ApicRegister.Svr], 0x1FF);
            a.hlt();
        });
        bed.Apic.Accept(0x30);
        bed.Execute(a =>
        {
            a.sti();
            a.mov(r14, r12); // runs in the shadow: r12 still 0
            a.mov(r15, r12); // after the interrupt: 1
            a.cli();
            a.hlt();
        });
        Assert.That((bed.Cpu[Gpr.R14], bed.Cpu[Gpr.R15]), Is.EqualTo((0UL, 1UL)));
    }

    [Test]
    public void HltWithInterruptsDisabled_StopsAsHalted()
    {
        using var bed = new CpuTestBed();
        bed.Load(a => a.hlt());
        bed.Cpu.Rip = CpuTestBed.CodeBase;
        var r = bed.Cpu.Run(RunLimits.Unlimited);
        Assert.That(r.Reason, Is.EqualTo(VmStopReason.Halted));
    }

    [Test]
    public void Clock_AdvancesByInstructionTime_WithFractionalNanoseconds()
    {
        using var bed = new CpuTestBed(o => o.InstructionTimePs = 333);
        bed.Load(a =>
        {
            var l = a.CreateLabel();
            a.Label(ref l);
            a.jmp(l);
        });
        bed.Cpu.Rip = CpuTestBed.CodeBase;
        var r = bed.Cpu.Run(new RunLimits(MaxInstructions: 3000));
        Assert.Multiple(() =>
        {
            Assert.That(r.InstructionsRetired, Is.EqualTo(3000));
            Assert.That(r.Reason, Is.EqualTo(VmStopReason.InstructionLimit));
            Assert.That(bed.Scheduler.Now, Is.EqualTo(999L));
        });
    }

    [Test]
    public void Rdtsc_CountsVirtualTimeAtTscHz()
    {
        using var bed = new CpuTestBed(o =>
        {
            o.InstructionTimePs = 1000;
            o.TscHz = 2_000_000_000;
        });
        bed.Execute(a =>
        {
            for (int i = 0; i < 50; i++)
            {
                a.nop();
            }

            a.rdtsc();
            a.hlt();
        });
        Assert.That(bed.Cpu[Gpr.Rax], Is.EqualTo(100UL), "50 ns at 2 GHz");
    }
}
