using ManagedVmm.Machine.Boot;
using ManagedVmm.Pci;
using ManagedVmm.Pci.Spec;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Machine.Tests.Boot;

public sealed class NoFirmwareBarAssignmentTests
{
    [Test]
    public void EveryBar_IsInsideItsWindowNaturallyAlignedAndDisjoint_WithDecodeAndBusMastering()
    {
        using var h = BootHarness.Create(devices: s => s.AddFakeIommu()
            .AddSingleton<PciFunction>(new BarShapesFunction("a"))
            .AddSingleton<PciFunction>(new BarShapesFunction("b")));
        var boot = BootHarness.Boot(h, TestElf.Simple().Build());
        var bars = boot.BarAssignments;
        Assert.That(bars, Has.Count.EqualTo(7), "3 BARs on each of two devices, 1 on the IOMMU");
        Assert.Multiple(() =>
        {
            foreach (var b in bars)
            {
                Assert.That(b.Address % b.Size, Is.Zero, $"{b} aligned");
                if (b.Kind == PciBarKind.Io)
                {
                    Assert.That(b.Address, Is.GreaterThanOrEqualTo((ulong)PciResourceAssigner.IoBase));
                    Assert.That(b.Address + b.Size, Is.LessThanOrEqualTo(0x1_0000UL));
                }
                else
                {
                    Assert.That(b.Address, Is.GreaterThanOrEqualTo(PlatformLayout.PciMmioWindowBase), $"{b} in window");
                    Assert.That(b.Address + b.Size, Is.LessThanOrEqualTo(PlatformLayout.PciMmioWindowEnd), $"{b} in window");
                }

                foreach (var other in bars.Where(o => o != b && (o.Kind == PciBarKind.Io) == (b.Kind == PciBarKind.Io)))
                {
                    Assert.That(b.Address + b.Size <= other.Address || other.Address + other.Size <= b.Address, Is.True, $"{b} vs {other}");
                }

                // What a guest reads back through ECAM is what was assigned, and the bus decodes it there.
                uint low = h.ConfigRead32(b.Function, PciConfig.BarOffset(b.Bar));
                ulong readBack = b.Kind == PciBarKind.Io ? low & ~3u : low & ~0xFu;
                if (b.Kind == PciBarKind.Memory64)
                {
                    readBack |= (ulong)h.ConfigRead32(b.Function, PciConfig.BarOffset(b.Bar + 1)) << 32;
                }

                Assert.That(readBack, Is.EqualTo(b.Address), $"{b} read back");
                var bar = h.Machine.Pci.Find(b.Function)!.Bars[b.Bar]!;
                Assert.That(bar.MappedAt, Is.EqualTo(b.Address), $"{b} decoded");
            }

            foreach (var f in h.Machine.Pci.Functions)
            {
                var command = (PciCommand)h.ConfigRead16(f.Address, PciConfig.Command);
                Assert.That(command & PciCommand.BusMaster, Is.EqualTo(PciCommand.BusMaster), $"{f.Name} bus master");
                if (f.Bars.Any(x => x is { IsMemory: true }))
                {
                    Assert.That(command & PciCommand.MemorySpace, Is.EqualTo(PciCommand.MemorySpace), $"{f.Name} memory decode");
                }

                if (f.Bars.Any(x => x is { IsMemory: false }))
                {
                    Assert.That(command & PciCommand.IoSpace, Is.EqualTo(PciCommand.IoSpace), $"{f.Name} I/O decode");
                }
            }
        });
    }

    [Test]
    public void Assignment_IsTheSameEveryRun()
    {
        IReadOnlyList<PciBarAssignment> Run()
        {
            using var h = BootHarness.Create(devices: s => s.AddFakeIommu().AddSingleton<PciFunction>(new BarShapesFunction("a")));
            return BootHarness.Boot(h, TestElf.Simple().Build()).BarAssignments;
        }

        Assert.That(Run(), Is.EqualTo(Run()));
    }
}
