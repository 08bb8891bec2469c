using ManagedVmm.Core.Memory;
using System.Buffers.Binary;
using ManagedVmm.Machine.Boot;

namespace ManagedVmm.Machine.Tests.Boot;

public sealed class BootInfoTests
{
    [Test]
    public void BootInfoBlock_IsLaidOutByteForByteAsTheContractSays()
    {
        using var h = BootHarness.Create();
        var boot = BootHarness.Boot(h, TestElf.Simple().Build(), "console=ttyS0 fio.bs=4096");
        var block = new byte[56];
        h.Ram.TryRead(boot.State.Rdi, block);
        var s = block;
        Assert.Multiple(() =>
        {
            Assert.That(boot.State.Rdi, Is.EqualTo(BootLayout.BootInfoAddress));
            Assert.That(s[..4], Is.EqualTo("BMVM"u8.ToArray()), "magic 0x4D564D42 little-endian");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(0)), Is.EqualTo(0x4D564D42u));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(4)), Is.EqualTo(1u), "version");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(8)), Is.EqualTo(boot.Acpi.RsdpAddress), "rsdp");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(16)), Is.EqualTo(BootLayout.CommandLineAddress), "cmdline");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(24)), Is.EqualTo(0x10_0000UL), "payload_entry");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(32)), Is.EqualTo(1_000_000_000UL), "tsc_hz");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(40)), Is.EqualTo((uint)boot.Info.MemoryMap.Count), "mmap_count");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(44)), Is.Zero, "reserved");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(48)), Is.EqualTo(BootLayout.MemoryMapAddress), "mmap");
            Assert.That(ReadCString(h, BootLayout.CommandLineAddress), Is.EqualTo("console=ttyS0 fio.bs=4096"));
        });
    }

    [Test]
    public void NoCommandLine_GivesZero()
    {
        using var h = BootHarness.Create();
        var boot = BootHarness.Boot(h, TestElf.Simple().Build());
        h.Ram.TryReadUInt64(BootLayout.BootInfoAddress + 16, out ulong cmdline);
        Assert.That(cmdline, Is.Zero);
        Assert.That(boot.Info.CommandLine, Is.Zero);
    }

    [Test]
    public void CommandLine_TooLong_IsRefused()
    {
        using var h = BootHarness.Create();
        var e = Assert.Throws<MachineConfigurationException>(() => BootHarness.Boot(h, TestElf.Simple().Build(), new string('x', 4096)));
        Assert.That(e!.Message, Does.Contain("4095"));
    }

    [Test]
    public void MemoryMap_512MiB_IsExact()
    {
        using var h = BootHarness.Create(memory: 512UL << 20);
        BootHarness.Boot(h, TestElf.Simple().Build());
        Assert.That(ReadMap(h), Is.EqualTo(new[]
        {
            new MemoryMapEntry(0, 0xE0000, MemoryMapType.Reserved),
            new MemoryMapEntry(0xE0000, 0x20000, MemoryMapType.Reserved),
            new MemoryMapEntry(0x10_0000, (512UL << 20) - 0x10_0000, MemoryMapType.Ram),
            new MemoryMapEntry(0xB000_0000, 0x1000_0000, MemoryMapType.Reserved),
        }));
    }

    [Test]
    public void MemoryMap_4GiB_ContinuesAbove4GiB()
    {
        using var h = BootHarness.Create(memory: 4UL << 30);
        BootHarness.Boot(h, TestElf.Simple().Build());
        var map = ReadMap(h);
        Assert.Multiple(() =>
        {
            Assert.That(map, Does.Contain(new MemoryMapEntry(0x10_0000, 0xB000_0000 - 0x10_0000, MemoryMapType.Ram)));
            Assert.That(map[^1], Is.EqualTo(new MemoryMapEntry(0x1_0000_0000, (4UL << 30) - 0xB000_0000, MemoryMapType.Ram)));
            Assert.That(map.Where(e => e.Type == MemoryMapType.Ram).Sum(e => (decimal)e.Length), Is.EqualTo((decimal)((4UL << 30) - 0x10_0000)));
            Assert.That(map.Zip(map.Skip(1)).All(p => p.First.End <= p.Second.Base), Is.True, "sorted, no overlap");
        });
    }

    [Test]
    public void MemoryMap_WithFirmware_ReservesTheFirmwareImage()
    {
        using var h = BootHarness.Create();
        var loader = h.Machine.GetRequiredService<MachineBootLoader>();
        var boot = loader.Boot(new BootRequest(new BootImageSource("payload", TestElf.Simple().Build()))
        {
            Firmware = new BootImageSource("firmware", TestElf.Simple(address: 0x80_0000, memSize: 0x1800).Build()),
        });
        Assert.Multiple(() =>
        {
            Assert.That(ReadMap(h), Does.Contain(new MemoryMapEntry(0x80_0000, 0x2000, MemoryMapType.Reserved)));
            Assert.That(boot.State.Rip, Is.EqualTo(0x80_0000UL), "the firmware runs first");
            Assert.That(boot.Info.PayloadEntry, Is.EqualTo(0x10_0000UL), "and finds the payload in the boot info");
            Assert.That(boot.BarAssignments, Is.Empty, "the firmware assigns BARs itself");
        });
    }

    private static List<MemoryMapEntry> ReadMap(Testing.MachineHarness h)
    {
        h.Ram.TryReadUInt32(BootLayout.BootInfoAddress + 40, out uint count);
        h.Ram.TryReadUInt64(BootLayout.BootInfoAddress + 48, out ulong at);
        var map = new List<MemoryMapEntry>();
        for (uint i = 0; i < count; i++)
        {
            var e = new byte[24];
            h.Ram.TryRead(at + (i * 24), e);
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(e.AsSpan(20)), Is.Zero, "entry reserved field");
            map.Add(new MemoryMapEntry(
                BinaryPrimitives.ReadUInt64LittleEndian(e),
                BinaryPrimitives.ReadUInt64LittleEndian(e.AsSpan(8)),
                (MemoryMapType)BinaryPrimitives.ReadUInt32LittleEndian(e.AsSpan(16))));
        }

        return map;
    }

    private static string ReadCString(Testing.MachineHarness h, ulong address)
    {
        var sb = new System.Text.StringBuilder();
        for (ulong a = address; h.ReadB(a) != 0; a++)
        {
            sb.Append((char)h.ReadB(a));
        }

        return sb.ToString();
    }
}
