using System.Text.Json;
using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Testing;
using ManagedVmm.Testing.Nvme;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Devices.Nvme.Tests;

/// <summary>The NVMe in the real DI graph (no CPU): enumerated by config cycles, driven as a guest would.</summary>
public sealed class MachineLevelTests
{
    [Test]
    public void AddNvme_PlacesTheControllerAtItsSlot_AndLinuxBringUpAndIoWork()
    {
        using var h = MachineHarness.Create(s => s.AddNvme(o => { o.Slot = 5; o.Size = 8UL << 20; o.Latency = NvmeLatencyOptions.Zero; }));
        var driver = NvmeTestDriver.Attach(h, new GuestBufferAllocator(h.Ram));
        Assert.That(driver.Bdf.Device, Is.EqualTo(5));
        Assert.That(driver.BringUp(2, 32), Is.EqualTo(512));
        ulong buf = 0x20_0000;
        h.Ram.TryWrite(buf, NvmeRig.Pattern(4096, 8));
        Expect.Status(driver.Write(2, 5, 8, buf, 512), NvmeStatus.Success);
        h.Ram.TryWrite(buf, new byte[4096]);
        Expect.Status(driver.Read(1, 5, 8, buf, 512), NvmeStatus.Success);
        var back = new byte[4096];
        h.Ram.TryRead(buf, back);
        Assert.That(back, Is.EqualTo(NvmeRig.Pattern(4096, 8)));
        Assert.That(h.Msi.CountVector(NvmeTestDriver.MsiDataBase + 1), Is.EqualTo(1));
        Assert.That(h.Msi.CountVector(NvmeTestDriver.MsiDataBase + 2), Is.EqualTo(1));
    }

    [Test]
    public void DefaultLatency_InTheMachine_CompletesOnTheMachineClock()
    {
        using var h = MachineHarness.Create(s => s.AddNvme(o => o.Size = 8UL << 20));
        var driver = NvmeTestDriver.Attach(h, new GuestBufferAllocator(h.Ram));
        driver.BringUp();
        long t0 = h.Scheduler.Now;
        Expect.Status(driver.Read(1, 0, 8, 0x20_0000, 512), NvmeStatus.Success);
        Assert.That(h.Scheduler.Now - t0, Is.InRange(70_000L, 100_000L));
    }

    [Test]
    public void TranslatorRegisteredInTheContainer_IsThePathForEveryDma()
    {
        var iommu = new FakeIommu();
        const ulong offset = 0x40_0000_0000;
        iommu.Map(offset + 0x10_0000, 0x10_0000, 0x100_0000);
        using var h = MachineHarness.Create(s =>
        {
            s.AddSingleton<IDmaTranslator>(iommu);
            s.AddNvme(o => { o.Size = 8UL << 20; o.Latency = NvmeLatencyOptions.Zero; });
        });
        var driver = NvmeTestDriver.Attach(h, new GuestBufferAllocator(h.Ram), a => a + offset);
        driver.BringUp();
        Expect.Status(driver.Read(1, 0, 8, 0x20_0000, 512), NvmeStatus.Success);
        Assert.That(iommu.Faults, Is.Empty);
        Expect.Status(driver.Execute(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 8, offset + 0x200_0000, 0)), NvmeStatus.DataTransferError);
        Assert.That(iommu.Faults, Has.Count.EqualTo(1));
    }

    [Test]
    public void Snapshot_DecodesRegistersAndQueues_AsTextAndJson()
    {
        using var rig = NvmeRig.BroughtUp(depth: 16);
        rig.ReadBlocks(0, 1);
        var s = rig.Nvme.Snapshot();
        string text = s.ToText();
        Assert.That(text, Does.Contain("NVMe controller 00:04.0"));
        Assert.That(text, Does.Contain("MQES=2047"));
        Assert.That(text, Does.Contain("RDY=1"));
        Assert.That(text, Does.Contain("SQ1: base 0x"));
        Assert.That(text, Does.Contain("CQ1:"));
        Assert.That(text, Does.Contain("read 1"));

        string json = JsonSerializer.Serialize(s);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("Registers").GetProperty("Cap").GetProperty("Mqes").GetInt32(), Is.EqualTo(2047));
        Assert.That(root.GetProperty("Registers").GetProperty("Csts").GetProperty("Rdy").GetBoolean(), Is.True);
        var cq1 = root.GetProperty("CompletionQueues")[1];
        Assert.That(cq1.GetProperty("Size").GetInt32(), Is.EqualTo(16));
        Assert.That(cq1.GetProperty("Tail").GetInt32(), Is.EqualTo(1));
        Assert.That(cq1.GetProperty("Phase").GetBoolean(), Is.True);
        Assert.That(root.GetProperty("Statistics").GetProperty("Reads").GetInt64(), Is.EqualTo(1));
    }
}
