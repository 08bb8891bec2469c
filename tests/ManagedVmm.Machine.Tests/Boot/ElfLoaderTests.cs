using System.Buffers.Binary;
using ManagedVmm.Machine.Boot;

namespace ManagedVmm.Machine.Tests.Boot;

public sealed class ElfLoaderTests
{
    [TestCase("hello")]
    [TestCase("compute")]
    public void CommittedGuestImage_ParsesAndLoadsAtItsPhysicalAddresses(string image)
    {
        var bytes = GuestImages.Read(image);
        var elf = ElfImage.Parse(image, bytes);
        using var h = BootHarness.Create();
        var boot = BootHarness.Boot(h, bytes);
        Assert.Multiple(() =>
        {
            Assert.That(elf.Entry, Is.EqualTo(0x10_0000UL), "linked at 1 MiB");
            Assert.That(elf.PvhEntry, Is.Not.Null.And.InRange(0x10_0000UL, 0x10_1000UL), "the PVH note names the 32-bit trampoline");
            Assert.That(boot.State.Rip, Is.EqualTo(elf.Entry));
            Assert.That(boot.Info.PayloadEntry, Is.EqualTo(elf.Entry));
            foreach (var s in elf.Segments)
            {
                var loaded = new byte[s.MemorySize];
                Assert.That(h.Ram.TryRead(s.PhysicalAddress, loaded), Is.True);
                Assert.That(loaded.AsSpan(0, (int)s.FileSize).SequenceEqual(elf.FileBytes(s)), Is.True, $"segment at 0x{s.PhysicalAddress:x}");
                Assert.That(loaded.AsSpan((int)s.FileSize).IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "bss zeroed");
            }
        });
    }

    [Test]
    public void Bss_IsZeroedEvenOverOldContents()
    {
        using var h = BootHarness.Create();
        var junk = new byte[0x2000];
        Array.Fill(junk, (byte)0xCC);
        h.Ram.TryWrite(0x10_0000, junk);
        BootHarness.Boot(h, TestElf.Simple(codeBytes: 16, memSize: 0x2000).Build());
        var loaded = new byte[0x2000];
        h.Ram.TryRead(0x10_0000, loaded);
        Assert.Multiple(() =>
        {
            Assert.That(loaded[..16], Is.All.EqualTo(0x90));
            Assert.That(loaded[16..], Is.All.EqualTo(0));
        });
    }

    [Test]
    public void PvhNote_WithA64BitDescriptor_GivesThePvhEntry()
    {
        var elf = TestElf.Simple();
        elf.Segments.Add((4, 0, TestElf.PvhNote(0x10_0040, 8), 0, 4));
        Assert.That(ElfImage.Parse("pvh", elf.Build()).PvhEntry, Is.EqualTo(0x10_0040UL));
    }

    [Test]
    public void PvhNote_WithA32BitDescriptor_GivesThePvhEntry()
    {
        var elf = TestElf.Simple();
        elf.Segments.Add((4, 0, TestElf.PvhNote(0x10_0080, 4), 0, 4));
        Assert.That(ElfImage.Parse("pvh", elf.Build()).PvhEntry, Is.EqualTo(0x10_0080UL));
    }

    [Test]
    public void NoPvhNote_GivesNull() => Assert.That(ElfImage.Parse("plain", TestElf.Simple().Build()).PvhEntry, Is.Null);

    private static IEnumerable<TestCaseData> MalformedImages()
    {
        yield return Case("empty file", [], "truncated");
        yield return Case("truncated header", TestElf.Simple().Build()[..40], "truncated");
        yield return Case("truncated program headers", TestElf.Simple().Build()[..80], "truncated");
        yield return Case("truncated segment data", TestElf.Simple(codeBytes: 64).Build()[..(64 + 56 + 10)], "truncated");
        var notElf = TestElf.Simple().Build();
        notElf[1] = (byte)'X';
        yield return Case("bad magic", notElf, "not an ELF file");
        yield return Case("32-bit class", new TestElf { Class = 1 }.WithSegment().Build(), "ELFCLASS64");
        yield return Case("big-endian", new TestElf { Data = 2 }.WithSegment().Build(), "little-endian");
        yield return Case("wrong machine", new TestElf { Machine = 3 }.WithSegment().Build(), "x86-64");
        yield return Case("shared object", new TestElf { Type = 3 }.WithSegment().Build(), "ET_EXEC");
        yield return Case("no segments", new TestElf().Build(), "program headers");
        yield return Case("entry outside code", new TestElf { Entry = 0x50_0000 }.WithSegment().Build(), "entry point");
        var fileBiggerThanMem = new TestElf();
        fileBiggerThanMem.Segments.Add((1, 0x10_0000, new byte[32], 16, 5));
        yield return Case("p_filesz > p_memsz", fileBiggerThanMem.Build(), "larger than p_memsz");
        var wrap = new TestElf { Entry = 0xFFFF_FFFF_FFFF_F000 };
        wrap.Segments.Add((1, 0xFFFF_FFFF_FFFF_F000, new byte[16], 0x2000, 5));
        yield return Case("address wrap", wrap.Build(), "wraps");
        var overlap = TestElf.Simple();
        overlap.Segments.Add((1, 0x10_1000, new byte[16], 0x1000, 6));
        yield return Case("overlapping segments", overlap.Build(), "overlaps segment");
        var badPhentsize = TestElf.Simple().Build();
        BinaryPrimitives.WriteUInt16LittleEndian(badPhentsize.AsSpan(54), 32);
        yield return Case("program header size", badPhentsize, "program header size");
        var hugePhnum = TestElf.Simple().Build();
        BinaryPrimitives.WriteUInt16LittleEndian(hugePhnum.AsSpan(56), 0xFFFF);
        yield return Case("65535 program headers", hugePhnum, "program headers");
    }

    [TestCaseSource(nameof(MalformedImages))]
    public void MalformedImage_IsAClearConfigurationError(byte[] file, string expected)
    {
        var e = Assert.Throws<MachineConfigurationException>(() => ElfImage.Parse("bad.elf", file));
        Assert.That(e!.Message, Does.StartWith("bad.elf: bad ELF image").And.Contain(expected));
    }

    private static IEnumerable<TestCaseData> Misplaced()
    {
        yield return new TestCaseData(TestElf.Simple(address: 0x8000).Build(), "boot structures").SetName("Segment_InTheLowMegabyte_IsRefused");
        yield return new TestCaseData(TestElf.Simple(address: 0x400_0000).Build(), "does not fit in RAM").SetName("Segment_AboveRam_IsRefused");
        yield return new TestCaseData(TestElf.Simple(memSize: 0x1_0000_0000).Build(), "does not fit in RAM").SetName("Segment_WithHugeMemSize_IsRefused");
        yield return new TestCaseData(TestElf.Simple(address: 0x3FF_F000, memSize: 0x2000).Build(), "does not fit in RAM").SetName("Segment_RunningPastTheEndOfRam_IsRefused");
    }

    [TestCaseSource(nameof(Misplaced))]
    public void MisplacedSegment_IsRefusedBeforeAnythingIsWritten(byte[] file, string expected)
    {
        using var h = BootHarness.Create(memory: 64UL << 20);
        h.Ram.TryWrite(0x2000, [0xAB]);
        var e = Assert.Throws<MachineConfigurationException>(() => BootHarness.Boot(h, file));
        Assert.Multiple(() =>
        {
            Assert.That(e!.Message, Does.Contain(expected));
            Assert.That(h.ReadB(0x2000), Is.EqualTo(0xAB), "nothing written");
        });
    }

    [Test]
    public void FirmwareOverlappingPayload_IsRefused()
    {
        using var h = BootHarness.Create();
        var loader = h.Machine.GetRequiredService<MachineBootLoader>();
        var request = new BootRequest(new BootImageSource("payload", TestElf.Simple().Build()))
        {
            Firmware = new BootImageSource("firmware", TestElf.Simple(address: 0x10_1000).Build()),
        };
        var e = Assert.Throws<MachineConfigurationException>(() => loader.Boot(request));
        Assert.That(e!.Message, Does.Contain("firmware").And.Contain("overlaps payload"));
    }

    [Test]
    public void MissingFile_IsAClearConfigurationError()
    {
        var e = Assert.Throws<MachineConfigurationException>(() => BootImageSource.FromFile("/nonexistent/image.elf"));
        Assert.That(e!.Message, Does.Contain("/nonexistent/image.elf").And.Contain("cannot read"));
    }

    private static TestCaseData Case(string name, byte[] file, string expected) =>
        new TestCaseData(file, expected).SetName($"MalformedImage_{name.Replace(' ', '_')}_IsRefused");
}

internal static class TestElfExtensions
{
    public static TestElf WithSegment(this TestElf elf)
    {
        elf.Segments.Add((1, 0x10_0000, new byte[16], 0x1000, 5));
        return elf;
    }
}
