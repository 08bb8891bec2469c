using Iced.Intel;
using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Memory;
using ManagedVmm.Core.Time;
using ManagedVmm.Cpu.X86.Apic;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Cpu.X86.Tests;

/// <summary>
/// A vCPU on 32 MiB of test RAM in the platform's long-mode boot state: GDT at 0x500 (code 0x08, data 0x10, TSS
/// 0x18), identity map of the low 1 GiB with 2 MiB pages and of 3–4 GiB with one 1 GiB page (PML4 0x1000, PDPT
/// 0x2000, PD 0x3000), an IDT at 0x4000 whose gate v points at <see cref="HandlerAddress"/>(v) (each handler is
/// a HLT), a TSS at 0x6000 with IST1 = 0x70000, a stack at 0x80000 and code at 0x100000.
/// </summary>
internal sealed class CpuTestBed : IDisposable
{
    public const ulong CodeBase = 0x10_0000;
    public const ulong StackTop = 0x8_0000;
    public const ulong IdtBase = 0x4000;
    public const ulong HandlersBase = 0x2_0000;
    public const ulong Pml4 = 0x1000;
    public const ulong Pdpt = 0x2000;
    public const ulong Pd = 0x3000;
    public const ulong Ist1Top = 0x7_0000;

    public CpuTestBed(Action<X86CpuOptions>? configure = null)
    {
        var options = new X86CpuOptions();
        configure?.Invoke(options);
        Ram = GuestRam.CreateFlat(32 << 20);
        Errors = new GuestErrorLog();
        Mmio = new MmioBus(Errors);
        Ports = new PortIoBus(Errors);
        Memory = new SystemMemory(Ram, Mmio, Errors);
        Scheduler = new EventScheduler();
        Stop = new VmStopSignal();
        Apic = new LocalApic(Scheduler, Options.Create(options), Errors);
        Mmio.Add(ApicRegister.DefaultBase, 0x1000, Apic, "lapic");
        Cpu = new X86Vcpu(Memory, Ports, Scheduler, Stop, Apic, Options.Create(options), Errors);

        // GDT: null, code64, data, TSS (16 bytes).
        W64(0x500, 0);
        W64(0x508, 0x00AF_9B00_0000_FFFF);
        W64(0x510, 0x00CF_9300_0000_FFFF);
        ulong tss = 0x6000;
        W64(0x518, 0x0000_8900_0000_0067 | ((tss & 0xFFFFFF) << 16) | ((tss >> 24 & 0xFF) << 56));
        W64(0x520, tss >> 32);
        W64(tss + 0x24, Ist1Top);

        // Paging: identity 0..1 GiB with 2 MiB pages, 3..4 GiB with one 1 GiB page.
        W64(Pml4, Pdpt | 3);
        W64(Pdpt, Pd | 3);
        W64(Pdpt + 3 * 8, 0xC000_0000 | 0x83 | 0x18);
        for (ulong i = 0; i < 512; i++)
        {
            W64(Pd + i * 8, (i << 21) | 0x83);
        }

        for (int v = 0; v < 256; v++)
        {
            SetGate(v, HandlerAddress(v), ist: 0);
            Ram.TryWrite(HandlerAddress(v), [0xF4]); // hlt
        }

        Cpu.ApplyInitialState(new X86InitialState
        {
            Rip = CodeBase,
            Rsp = StackTop,
            Cr3 = Pml4,
            Gdtr = new TableRegister(0x500, 0x27),
            Idtr = new TableRegister(IdtBase, 256 * 16 - 1),
            Tr = 0x18,
        });
    }

    public GuestRam Ram { get; }

    public GuestErrorLog Errors { get; }

    public MmioBus Mmio { get; }

    public PortIoBus Ports { get; }

    public SystemMemory Memory { get; }

    public EventScheduler Scheduler { get; }

    public VmStopSignal Stop { get; }

    public LocalApic Apic { get; }

    public X86Vcpu Cpu { get; }

    public static ulong HandlerAddress(int vector) => HandlersBase + (ulong)vector * 16;

    /// <summary>Writes an IDT gate (interrupt gate, type 0xE, or trap gate 0xF).</summary>
    public void SetGate(int vector, ulong target, int ist, int type = 0xE)
    {
        ulong lo = (target & 0xFFFF) | (0x08UL << 16) | ((ulong)ist << 32) | ((ulong)(0x80 | type) << 40) | ((target >> 16 & 0xFFFF) << 48);
        W64(IdtBase + (ulong)vector * 16, lo);
        W64(IdtBase + (ulong)vector * 16 + 8, target >> 32);
    }

    public void W64(ulong address, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        Assert.That(Ram.TryWrite(address, b), Is.True);
    }

    public ulong R64(ulong address)
    {
        Span<byte> b = stackalloc byte[8];
        Assert.That(Ram.TryRead(address, b), Is.True);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    /// <summary>Assembles <paramref name="build"/> at <paramref name="address"/> and writes it to RAM.</summary>
    public int Load(Action<Assembler> build, ulong address = CodeBase)
    {
        var a = new Assembler(64);
        build(a);
        using var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), address);
        Assert.That(Ram.TryWrite(address, ms.ToArray()), Is.True);
        return (int)ms.Length;
    }

    /// <summary>Loads code at <see cref="CodeBase"/>, points RIP at it and runs until the vCPU halts or stops.</summary>
    public RunResult Execute(Action<Assembler> build, long maxInstructions = 100_000)
    {
        Load(build);
        Cpu.Rip = CodeBase;
        return RunToHalt(maxInstructions);
    }

    /// <summary>Runs until HLT (the stop signal says Halted when IF = 0 and nothing can wake it) or a stop.</summary>
    public RunResult RunToHalt(long maxInstructions = 100_000)
    {
        var r = Cpu.Run(new RunLimits(MaxInstructions: maxInstructions));
        if (Stop.Reason == VmStopReason.Halted)
        {
            Stop.Clear();
        }

        return r;
    }

    public void Dispose() => Ram.Dispose();
}
