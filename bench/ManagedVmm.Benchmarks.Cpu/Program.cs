// vCPU MIPS benchmark: runs a compute-bound guest (guest/mips.c, gcc -O2, flat binary at 0x100000) on the
// interpreter in the platform's long-mode state and prints retired guest instructions per wall-clock second.
//   dotnet run -c Release --project bench/ManagedVmm.Benchmarks.Cpu [-- rounds [repeats]]
using System.Buffers.Binary;
using System.Diagnostics;
using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Memory;
using ManagedVmm.Core.Time;
using ManagedVmm.Cpu.X86;
using ManagedVmm.Cpu.X86.Apic;
using Microsoft.Extensions.Options;

ulong rounds = args.Length > 0 ? ulong.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 400;
int repeats = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;

byte[] image;
using (var s = typeof(Program).Assembly.GetManifestResourceStream("mips.bin")!)
{
    image = new byte[s.Length];
    s.ReadExactly(image);
}

Console.WriteLine($"guest: mips.c ({image.Length} bytes), {rounds} rounds, {repeats} runs");
var results = new List<double>();
for (int run = 0; run < repeats; run++)
{
    using var ram = GuestRam.CreateFlat(64 << 20);
    var errors = new GuestErrorLog();
    var mmio = new MmioBus(errors);
    var ports = new PortIoBus(errors);
    var memory = new SystemMemory(ram, mmio, errors);
    var scheduler = new EventScheduler();
    var stop = new VmStopSignal();
    var options = Options.Create(new X86CpuOptions());
    var apic = new LocalApic(scheduler, options, errors);
    mmio.Add(ApicRegister.DefaultBase, 0x1000, apic, "lapic");
    var cpu = new X86Vcpu(memory, ports, scheduler, stop, apic, options, errors);

    void W64(ulong a, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        ram.TryWrite(a, b);
    }

    W64(0x508, 0x00AF_9B00_0000_FFFF);
    W64(0x510, 0x00CF_9300_0000_FFFF);
    W64(0x9000, 0xA000 | 3);
    W64(0xA000, 0xB000 | 3);
    for (ulong i = 0; i < 512; i++)
    {
        W64(0xB000 + (i * 8), (i << 21) | 0x83);
    }

    W64(0x8000, rounds);
    ram.TryWrite(0x10_0000, image);
    cpu.ApplyInitialState(new X86InitialState
    {
        Rip = 0x10_0000,
        Rsp = 0x8_0000,
        Cr3 = 0x9000,
        Gdtr = new TableRegister(0x500, 0x17),
    });

    var sw = Stopwatch.StartNew();
    var r = cpu.Run(RunLimits.Unlimited);
    sw.Stop();
    double mips = r.InstructionsRetired / sw.Elapsed.TotalSeconds / 1e6;
    results.Add(mips);
    var sum = new byte[8];
    ram.TryRead(0x8008, sum);
    Console.WriteLine($"run {run + 1}: {r.InstructionsRetired:N0} instructions in {sw.Elapsed.TotalMilliseconds:F0} ms = {mips:F1} MIPS " +
        $"(stop: {r.Reason}, checksum 0x{BinaryPrimitives.ReadUInt64LittleEndian(sum):x}, decoded {cpu.InstructionsDecoded}, " +
        $"#UD {cpu.ExceptionCounts[6]}, virtual {r.VirtualTimeNs / 1e6:F1} ms)");
}

results.Sort();
Console.WriteLine($"median {results[results.Count / 2]:F1} MIPS, best {results[^1]:F1} MIPS");
