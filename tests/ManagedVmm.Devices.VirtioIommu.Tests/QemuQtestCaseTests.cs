using System.Buffers.Binary;
using ManagedVmm.Devices.VirtioIommu.Spec;
using static ManagedVmm.Devices.VirtioIommu.Spec.VirtioIommuStatus;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>
/// QEMU's tests/qtest/virtio-iommu-test.c cases (reference §4), written as our own: same sequences, same expected
/// statuses, driven against the device logic. Endpoint 0 (the host bridge) exists, 1 and 444 do not.
/// </summary>
public sealed class QemuQtestCaseTests
{
    [Test]
    public void Config_PresentsQemuDefaults_InputRangeDomainRangeAndBootBypass()
    {
        var bench = new IommuTestBench();
        Span<byte> b8 = stackalloc byte[8];
        bench.Iommu.ReadConfig(8, b8);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(b8), Is.EqualTo(0UL), "input_range.start");
        bench.Iommu.ReadConfig(16, b8);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(b8), Is.GreaterThanOrEqualTo(0xFFFF_FFFFUL), "input_range.end");
        Span<byte> b4 = stackalloc byte[4];
        bench.Iommu.ReadConfig(24, b4);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b4), Is.EqualTo(0u), "domain_range.start");
        bench.Iommu.ReadConfig(28, b4);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b4), Is.EqualTo(0xFFFF_FFFFu), "domain_range.end");
        Span<byte> b1 = stackalloc byte[1];
        bench.Iommu.ReadConfig(36, b1);
        Assert.That(b1[0], Is.EqualTo(1), "bypass (boot bypass)");
    }

    [Test]
    public void AttachDetach_FollowsQemuSequence()
    {
        var bench = new IommuTestBench();
        Assert.Multiple(() =>
        {
            Assert.That(bench.Attach(0, 0), Is.EqualTo(Ok), "1 attach dom0 ep0");
            Assert.That(bench.Attach(0, 444), Is.EqualTo(NoEnt), "2 attach non-existent ep444");
            Assert.That(bench.Detach(0, 1), Is.EqualTo(NoEnt), "3 detach non-existent ep1");
            Assert.That(bench.Attach(1, 0), Is.EqualTo(Ok), "4 ep0 moves to dom1");
            Assert.That(bench.Iommu.Domains.TryGetDomain(0, out _), Is.False, "4 dom0 disappeared with its last endpoint");
            Assert.That(bench.Detach(0, 0), Is.EqualTo(Inval), "5 ep0 is not in dom0");
            Assert.That(bench.Detach(1, 0), Is.EqualTo(Ok), "6");
            Assert.That(bench.Attach(1, 0), Is.EqualTo(Ok), "7");
            Assert.That(bench.Map(1, 0x0, 0xFFF, 0xa1000), Is.EqualTo(Ok), "8");
            Assert.That(bench.Map(1, 0x2000, 0x2FFF, 0xb1000), Is.EqualTo(Ok), "9");
            Assert.That(bench.Detach(1, 0), Is.EqualTo(Ok), "10 detach destroys a domain that still has mappings");
            Assert.That(bench.Iommu.Domains.DomainCount, Is.Zero);
            Assert.That(bench.Stats.LiveMappings, Is.Zero);
        });
    }

    [Test]
    public void MapUnmap_FollowsQemuSequenceIncludingTheSpecExamples()
    {
        // Steps 8–15 are byte-granular: a 1-byte granule (page_size_mask bit 0) makes them legal under the spec.
        var bench = new IommuTestBench(o => o.Granule = 1);
        Assert.Multiple(() =>
        {
            Assert.That(bench.Attach(1, 0), Is.EqualTo(Ok), "1");
            Assert.That(bench.Map(0, 0, 0xFFF, 0xa1000), Is.EqualTo(NoEnt), "2 domain 0 does not exist");
            Assert.That(bench.Map(1, 0, 0xFFF, 0xa1000), Is.EqualTo(Ok), "3");
            Assert.That(bench.Map(1, 0, 0xFFFF, 0xb1000), Is.EqualTo(Inval), "4 overlap");
            Assert.That(bench.Unmap(4, 0x10, 0xFFF), Is.EqualTo(NoEnt), "5");
            Assert.That(bench.Unmap(1, 0x10, 0xFFF), Is.EqualTo(VirtioIommuStatus.Range), "6 would split");
            Assert.That(bench.Unmap(1, 0, 0x1000), Is.EqualTo(Ok), "7 spills over");

            Assert.That(bench.Unmap(1, 0, 4), Is.EqualTo(Ok), "spec (1)");

            Assert.That(bench.Map(1, 0, 9, 0xa1000), Is.EqualTo(Ok), "spec (2) map");
            Assert.That(bench.Unmap(1, 0, 9), Is.EqualTo(Ok), "spec (2) unmap");

            Assert.That(bench.Map(1, 0, 4, 0xb1000), Is.EqualTo(Ok), "spec (3) map a");
            Assert.That(bench.Map(1, 5, 9, 0xb2000), Is.EqualTo(Ok), "spec (3) map b");
            Assert.That(bench.Unmap(1, 0, 9), Is.EqualTo(Ok), "spec (3) unmap both");

            Assert.That(bench.Map(1, 0, 9, 0xc1000), Is.EqualTo(Ok), "spec (4) map");
            Assert.That(bench.Unmap(1, 0, 4), Is.EqualTo(VirtioIommuStatus.Range), "spec (4) split refused");
            Assert.That(bench.Unmap(1, 0, 10), Is.EqualTo(Ok), "spec (4) whole");

            Assert.That(bench.Map(1, 0, 4, 0xd1000), Is.EqualTo(Ok), "spec (5) map a");
            Assert.That(bench.Map(1, 5, 9, 0xd2000), Is.EqualTo(Ok), "spec (5) map b");
            Assert.That(bench.Unmap(1, 0, 4), Is.EqualTo(Ok), "spec (5) unmap a");
            Assert.That(bench.Unmap(1, 5, 9), Is.EqualTo(Ok), "spec (5) unmap b");

            Assert.That(bench.Map(1, 0, 4, 0xe2000), Is.EqualTo(Ok), "spec (6) map");
            Assert.That(bench.Unmap(1, 0, 9), Is.EqualTo(Ok), "spec (6) unmap spills");

            Assert.That(bench.Map(1, 0, 4, 0xf2000), Is.EqualTo(Ok), "spec (7) map a");
            Assert.That(bench.Map(1, 10, 14, 0xf3000), Is.EqualTo(Ok), "spec (7) map b");
            Assert.That(bench.Unmap(1, 0, 14), Is.EqualTo(Ok), "spec (7) unmap both");

            Assert.That(bench.Map(1, 10, 14, 0xf3000), Is.EqualTo(Ok), "15 map b");
            Assert.That(bench.Map(1, 0, 4, 0xf2000), Is.EqualTo(Ok), "15 map a");
            Assert.That(bench.Unmap(1, 0, 4), Is.EqualTo(Ok), "15 unmap a");
            Assert.That(bench.Map(1, 10, 14, 0xf3000), Is.EqualTo(Inval), "15 b is still mapped");
            Assert.That(bench.MappingsOf(1), Is.EqualTo(new[] { new IommuMapping(10, 14, 0xf3000, VirtioIommuMapFlags.Read) }));
        });
    }
}
