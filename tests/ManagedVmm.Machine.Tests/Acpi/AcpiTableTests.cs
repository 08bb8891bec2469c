using System.Buffers.Binary;
using System.Text;
using ManagedVmm.Machine.Boot;
using ManagedVmm.Machine.Tests.Boot;
using ManagedVmm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Machine.Tests.Acpi;

public sealed class AcpiTableTests
{
    private static (MachineHarness H, BootResult Boot, AcpiReader Reader) Booted(Action<IServiceCollection>? devices = null)
    {
        var h = BootHarness.Create(devices: devices);
        var boot = BootHarness.Boot(h, TestElf.Simple().Build());
        return (h, boot, new AcpiReader(h.Memory));
    }

    [Test]
    public void Rsdp_IsFoundByTheLegacyScanAndEqualsTheBootInfoCopy()
    {
        var (h, boot, acpi) = Booted();
        using (h)
        {
            ulong? found = acpi.ScanForRsdp();
            Assert.That(found, Is.EqualTo(0xE0000UL));
            var scanned = acpi.Read(found!.Value, 36);
            var primary = acpi.Read(boot.Info.Rsdp, 36);
            Assert.Multiple(() =>
            {
                Assert.That(scanned, Is.EqualTo(primary));
                Assert.That(scanned[15], Is.EqualTo(2), "revision 2");
                Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(scanned.AsSpan(20)), Is.EqualTo(36u), "length");
                Assert.That(AcpiReader.Sum(scanned.AsSpan(0, 20)), Is.Zero, "ACPI 1.0 checksum");
                Assert.That(AcpiReader.Sum(scanned), Is.Zero, "extended checksum");
            });
        }
    }

    [Test]
    public void Xsdt_ListsMadtAndMcfgWithValidChecksums_AndNoViotWithoutIommu()
    {
        var (h, _, acpi) = Booted();
        using (h)
        {
            var rsdp = acpi.Read(acpi.ScanForRsdp()!.Value, 36);
            var xsdt = acpi.Table(BinaryPrimitives.ReadUInt64LittleEndian(rsdp.AsSpan(24)));
            var tables = acpi.TablesFromXsdt(xsdt);
            Assert.Multiple(() =>
            {
                Assert.That(Encoding.ASCII.GetString(xsdt, 0, 4), Is.EqualTo("XSDT"));
                Assert.That(AcpiReader.Sum(xsdt), Is.Zero);
                Assert.That(tables.Keys, Is.EquivalentTo(new[] { "APIC", "MCFG" }));
                foreach (var (sig, t) in tables)
                {
                    Assert.That(AcpiReader.Sum(t), Is.Zero, $"{sig} checksum");
                }
            });
        }
    }

    [Test]
    public void Madt_HasLocalApicAddressAndOneEnabledLocalApic()
    {
        var (h, _, acpi) = Booted();
        using (h)
        {
            var madt = Tables(acpi)["APIC"];
            Assert.Multiple(() =>
            {
                Assert.That(madt.Length, Is.EqualTo(44 + 8));
                Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(madt.AsSpan(36)), Is.EqualTo(0xFEE00000u));
                Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(madt.AsSpan(40)), Is.Zero, "no 8259s");
                Assert.That(madt.AsSpan(44, 4).ToArray(), Is.EqualTo(new byte[] { 0, 8, 0, 0 }), "type 0, length 8, UID 0, APIC ID 0");
                Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(madt.AsSpan(48)), Is.EqualTo(1u), "enabled");
            });
        }
    }

    [Test]
    public void Mcfg_DescribesEcamForBuses0To255()
    {
        var (h, _, acpi) = Booted();
        using (h)
        {
            var mcfg = Tables(acpi)["MCFG"];
            Assert.Multiple(() =>
            {
                Assert.That(mcfg.Length, Is.EqualTo(60));
                Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(mcfg.AsSpan(44)), Is.EqualTo(0xB000_0000UL));
                Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(mcfg.AsSpan(52)), Is.Zero, "segment");
                Assert.That(mcfg[54], Is.Zero, "start bus");
                Assert.That(mcfg[55], Is.EqualTo(255), "end bus");
            });
        }
    }

    [Test]
    public void Viot_HasTheIommuNodeAndARangeOverEveryOtherFunction()
    {
        // Host bridge 00:00.0, fake IOMMU 00:01.0, two endpoints at 00:02.0 and 00:03.0.
        var (h, _, acpi) = Booted(s => s.AddFakeIommu().AddSingleton<Pci.PciFunction>(new BarShapesFunction("a")).AddSingleton<Pci.PciFunction>(new BarShapesFunction("b")));
        using (h)
        {
            var viot = Tables(acpi)["VIOT"];
            var nodes = ViotNodes(viot);
            Assert.Multiple(() =>
            {
                Assert.That(AcpiReader.Sum(viot), Is.Zero);
                Assert.That(viot[8], Is.Zero, "revision 0");
                Assert.That(nodes.Select(n => n.Type), Is.EqualTo(new[] { 3, 1, 1 }));
                Assert.That(nodes[0].Bdf, Is.EqualTo(0x08), "the IOMMU at 00:01.0");
                Assert.That(nodes[1].Range, Is.EqualTo((0x00, 0x00)), "host bridge alone: the IOMMU itself splits the ranges");
                Assert.That(nodes[2].Range, Is.EqualTo((0x10, 0x18)), "00:02.0 through 00:03.0, absent functions between them merged");
                Assert.That(nodes.Skip(1).All(n => n.EndpointStart == n.Range.Start), Is.True, "endpoint ID = requester ID");
                Assert.That(nodes.Skip(1).All(n => n.OutputNode == 48), Is.True, "ranges point at the IOMMU node");
            });
        }
    }

    [Test]
    public void Viot_LeavesOutFunctionsTheIommuDoesNotTranslate()
    {
        var (h, _, acpi) = Booted(s => s.AddFakeIommu().AddSingleton<Pci.PciFunction>(new BarShapesFunction("a")).AddSingleton<Pci.PciFunction>(new BarShapesFunction("b")));
        using (h)
        {
            h.Machine.GetRequiredService<FakeIommuFunction>().NotCovered.Add(0x00);
            h.Machine.GetRequiredService<FakeIommuFunction>().NotCovered.Add(0x10);
            BootHarness.Boot(h, TestElf.Simple().Build());
            var nodes = ViotNodes(Tables(acpi)["VIOT"]);
            Assert.That(nodes.Where(n => n.Type == 1).Select(n => n.Range), Is.EqualTo(new[] { (0x18, 0x18) }));
        }
    }

    [Test]
    public void Checksum_MakesTheTableSumToZero()
    {
        var table = ManagedVmm.Machine.Acpi.AcpiTable.Create("TEST", 1, [1, 2, 3, 250]);
        Assert.Multiple(() =>
        {
            Assert.That(AcpiReader.Sum(table), Is.Zero);
            Assert.That(ManagedVmm.Machine.Acpi.AcpiTable.IsChecksumValid(table), Is.True);
            table[39]++;
            Assert.That(ManagedVmm.Machine.Acpi.AcpiTable.IsChecksumValid(table), Is.False);
        });
    }

    private static Dictionary<string, byte[]> Tables(AcpiReader acpi)
    {
        var rsdp = acpi.Read(acpi.ScanForRsdp()!.Value, 36);
        return acpi.TablesFromXsdt(acpi.Table(BinaryPrimitives.ReadUInt64LittleEndian(rsdp.AsSpan(24))));
    }

    private static List<(int Type, int Bdf, (int Start, int End) Range, uint EndpointStart, int OutputNode)> ViotNodes(byte[] viot)
    {
        int count = BinaryPrimitives.ReadUInt16LittleEndian(viot.AsSpan(36));
        int at = BinaryPrimitives.ReadUInt16LittleEndian(viot.AsSpan(38));
        var nodes = new List<(int, int, (int, int), uint, int)>();
        for (int i = 0; i < count; i++)
        {
            var n = viot.AsSpan(at);
            int type = n[0];
            int length = BinaryPrimitives.ReadUInt16LittleEndian(n[2..]);
            Assert.That(at + length, Is.LessThanOrEqualTo(viot.Length), "node inside the table");
            if (type == 3)
            {
                Assert.That(length, Is.EqualTo(16));
                nodes.Add((3, BinaryPrimitives.ReadUInt16LittleEndian(n[6..]), (0, 0), 0, 0));
            }
            else
            {
                Assert.That(length, Is.EqualTo(24));
                nodes.Add((
                    type,
                    0,
                    (BinaryPrimitives.ReadUInt16LittleEndian(n[12..]), BinaryPrimitives.ReadUInt16LittleEndian(n[14..])),
                    BinaryPrimitives.ReadUInt32LittleEndian(n[4..]),
                    BinaryPrimitives.ReadUInt16LittleEndian(n[16..])));
            }

            at += length;
        }

        return nodes;
    }
}
