using ManagedVmm.Cli.Bench;
using ManagedVmm.Core;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Devices.Nvme;
using ManagedVmm.Devices.VirtioIommu;
using ManagedVmm.Machine.Running;
using ManagedVmm.Testing;

namespace ManagedVmm.Cli.Tests;

/// <summary>
/// The cost profiles on the whole machine (real DI graph, no vCPU): which BAR accesses cost an exit and which a
/// plain MMIO, the interrupt delivery cost, and the zero profile charging nothing.
/// </summary>
public sealed class CostProfileTests
{
    private const uint NvmeClass = 0x01_08_02;

    private static (MachineHarness Harness, EnumeratedFunction Iommu, EnumeratedFunction Nvme) Machine(CostProfile? profile)
    {
        var harness = MachineHarness.Create(s =>
        {
            s.AddVirtioIommu();
            s.AddNvme(o => { o.Size = 1 << 20; profile?.ApplyTo(o); });
            profile?.ApplyTo(s);
        });
        var functions = harness.PciEnumerate();
        return (harness, functions.Single(f => f.VendorId == 0x1AF4), functions.Single(f => f.ClassCode == NvmeClass));
    }

    private static long CostOfRead(MachineHarness h, ulong address)
    {
        long before = h.Scheduler.Now;
        h.ReadL(address);
        return h.Scheduler.Now - before;
    }

    [Test]
    public void Seed_VirtioIommuAccessIsAnExit_NvmeDoorbellIsAPlainMmio()
    {
        var (h, iommu, nvme) = Machine(CostProfile.Seed);
        using var _ = h;
        Assert.That(CostOfRead(h, iommu.BarAddresses.First(a => a != 0)), Is.EqualTo(CostProfile.Seed.ExitNs));
        Assert.That(CostOfRead(h, nvme.BarAddresses[0]), Is.EqualTo(CostProfile.Seed.PassthroughMmioNs));
    }

    [Test]
    public void EmulatedNvme_NvmeAccessIsAnExitToo()
    {
        var (h, _, nvme) = Machine(CostProfile.EmulatedNvme);
        using var __ = h;
        Assert.That(CostOfRead(h, nvme.BarAddresses[0]), Is.EqualTo(CostProfile.EmulatedNvme.ExitNs));
    }

    [Test]
    public void Seed_InterruptDelivery_AdvancesTheClock()
    {
        var (h, _, nvme) = Machine(CostProfile.Seed);
        using var _ = h;
        long before = h.Scheduler.Now;
        h.Machine.Msi.Signal(nvme.Address, new MsiMessage(0xFEE0_0000, 0x41));
        Assert.That(h.Scheduler.Now - before, Is.EqualTo(CostProfile.Seed.InterruptDeliveryNs));
    }

    [Test]
    public void ZeroProfile_ChargesNothing_LikeNoProfile()
    {
        foreach (var profile in new[] { CostProfile.Zero, null })
        {
            var (h, iommu, nvme) = Machine(profile);
            using var _ = h;
            h.ReadL(iommu.BarAddresses.First(a => a != 0));
            h.ReadL(nvme.BarAddresses[0]);
            h.Machine.Msi.Signal(nvme.Address, new MsiMessage(0xFEE0_0000, 0x41));
            Assert.That(h.Scheduler.Now, Is.Zero, profile?.Name ?? "no profile");
        }
    }

    [Test]
    public void ZeroProfile_NvmeHasNoMediaLatency_SeedKeepsTheDefaults()
    {
        var zero = new NvmeOptions();
        CostProfile.Zero.ApplyTo(zero);
        var seed = new NvmeOptions();
        CostProfile.Seed.ApplyTo(seed);
        Assert.That((zero.Latency.ZeroLatency, seed.Latency.ReadNs), Is.EqualTo((true, new NvmeLatencyOptions().ReadNs)));
    }
}

/// <summary>
/// Determinism of one bench configuration on the whole machine (vCPU, virtio-iommu, NVMe, seed costs). Until
/// nvme-fio exists the guest is <c>compute</c> (it prints a virtual-time tick count): the same configuration run
/// twice must retire the same instructions, end at the same virtual time and print the same bytes.
/// </summary>
public sealed class BenchDeterminismTests
{
    [Test]
    public void SameConfigurationTwice_OnTheWholeMachine_IdenticalVirtualTime()
    {
        string image = Path.Combine(CliRunner.RepositoryRoot(), "guest-images", "compute", "compute.elf");
        var runner = new MachineConfigurationRunner("compute.elf", File.ReadAllBytes(image), 64UL << 20);
        var config = BenchMatrix.Select(["lazy-single"], ["randread-qd32"], CostProfile.Seed, 10, out _)[0] with { Ios = 10 };
        var compute = config with { Workload = config.Workload with { Switches = "iterations=20000" } };

        var (a, serialA) = runner.RunGuest(compute);
        var (b, serialB) = runner.RunGuest(compute);

        Assert.That(a.ExitStatus, Is.EqualTo(1), serialA);
        Assert.That((b.InstructionsRetired, b.VirtualTimeNs, serialB), Is.EqualTo((a.InstructionsRetired, a.VirtualTimeNs, serialA)));
        Assert.That(a.VirtualTimeNs, Is.GreaterThan(0));
    }
}
