using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Testing;
using ManagedVmm.Testing.Nvme;

namespace ManagedVmm.Devices.Nvme.Tests;

/// <summary>One NVMe controller on a <see cref="PciTestBed"/>, enumerated, with the test driver attached.</summary>
internal sealed class NvmeRig : IDisposable
{
    public const int Slot = 4;

    private NvmeRig(PciTestBed bed, NvmeController nvme, NvmeTestDriver driver)
    {
        Bed = bed;
        Nvme = nvme;
        Driver = driver;
    }

    public PciTestBed Bed { get; }

    public NvmeController Nvme { get; }

    public NvmeTestDriver Driver { get; }

    public int LbaSize => Nvme.Options.LbaSize;

    /// <summary>A zero-latency controller with a 16 MiB in-memory namespace unless <paramref name="configure"/> says otherwise.</summary>
    public static NvmeRig Create(Action<NvmeOptions>? configure = null, IEnumerable<IDmaTranslator>? translators = null, Func<ulong, ulong>? deviceAddress = null)
    {
        var options = new NvmeOptions { Size = 16UL << 20, Latency = NvmeLatencyOptions.Zero };
        configure?.Invoke(options);
        var bed = new PciTestBed(64UL << 20, translators);
        var nvme = new NvmeController(options, bed.Scheduler);
        bed.Place(nvme, Slot);
        var driver = NvmeTestDriver.Attach(bed, bed.Alloc, deviceAddress);
        return new NvmeRig(bed, nvme, driver);
    }

    /// <summary>Enabled, Identify done, MSI-X on, one I/O queue pair (qid 1) of <paramref name="depth"/> entries.</summary>
    public static NvmeRig BroughtUp(Action<NvmeOptions>? configure = null, int depth = 64, IEnumerable<IDmaTranslator>? translators = null, Func<ulong, ulong>? deviceAddress = null)
    {
        var rig = Create(configure, translators, deviceAddress);
        rig.Driver.BringUp(1, depth);
        return rig;
    }

    public ulong Alloc(int bytes, ulong alignment = 4096) => Bed.Alloc.Alloc((ulong)bytes, alignment);

    public void Poke(ulong gpa, ReadOnlySpan<byte> data) => Bed.Ram.TryWrite(gpa, data);

    public byte[] Peek(ulong gpa, int length)
    {
        var b = new byte[length];
        Bed.Ram.TryRead(gpa, b);
        return b;
    }

    public static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="slba"/> through a fresh buffer, asserting success.</summary>
    public void WriteBlocks(ulong slba, byte[] data)
    {
        ulong buf = Alloc(data.Length);
        Poke(buf, data);
        var cqe = Driver.Write(1, slba, data.Length / LbaSize, buf, LbaSize);
        Assert.That(cqe.Status, Is.EqualTo(NvmeStatus.Success), NvmeStatus.Describe(cqe.Status));
    }

    public byte[] ReadBlocks(ulong slba, int blocks)
    {
        ulong buf = Alloc(blocks * LbaSize);
        var cqe = Driver.Read(1, slba, blocks, buf, LbaSize);
        Assert.That(cqe.Status, Is.EqualTo(NvmeStatus.Success), NvmeStatus.Describe(cqe.Status));
        return Peek(buf, blocks * LbaSize);
    }

    public void Dispose()
    {
        Nvme.Dispose();
        Bed.Dispose();
    }
}

/// <summary>Asserts on completions by status, with the decoded status in the message.</summary>
internal static class Expect
{
    public static void Status(NvmeCompletion cqe, ushort status) =>
        Assert.That(cqe.Status, Is.EqualTo(status), $"got {NvmeStatus.Describe(cqe.Status)}, expected {NvmeStatus.Describe(status)}");
}
