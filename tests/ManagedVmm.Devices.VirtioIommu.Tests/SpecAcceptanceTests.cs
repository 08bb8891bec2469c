using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.VirtioIommu.Spec;
using S = ManagedVmm.Devices.VirtioIommu.Spec.VirtioIommuStatus;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>The reference's "Additional acceptance cases derived from the spec" (§4), one test each.</summary>
public sealed class SpecAcceptanceTests
{
    [Test]
    public void Attach_WithReservedNonZero_IsInvalAndAttachesNothing()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Send(IommuRequests.AttachReq(1, 0, reserved: 0x0100)), Is.EqualTo(S.Inval));
        Assert.That(bench.Iommu.Domains.DomainOf(0), Is.Null);
    }

    [Test]
    public void Attach_WithFlagsBit1_IsInval()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Attach(1, 0, flags: 1u << 1), Is.EqualTo(S.Inval));
    }

    [Test]
    public void Attach_WithBypassFlagToExistingNonBypassDomain_IsInval()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Attach(1, IommuTestBench.HostBridge), Is.EqualTo(S.Ok));
        Assert.That(bench.Attach(1, IommuTestBench.Nvme, (uint)VirtioIommuAttachFlags.Bypass), Is.EqualTo(S.Inval));
        Assert.That(bench.Iommu.Domains.DomainOf(IommuTestBench.Nvme), Is.Null);
    }

    [Test]
    public void MapAndUnmap_OnBypassDomain_AreInval()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Attach(1, 0, (uint)VirtioIommuAttachFlags.Bypass), Is.EqualTo(S.Ok));
        Assert.That(bench.Map(1, 0, 0xFFF, 0x1000), Is.EqualTo(S.Inval));
        Assert.That(bench.Unmap(1, 0, 0xFFF), Is.EqualTo(S.Inval));
    }

    [Test]
    public void Map_WithFlagsBit3_IsInval()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        Assert.That(bench.Map(1, 0, 0xFFF, 0x1000, (VirtioIommuMapFlags)(1u << 3)), Is.EqualTo(S.Inval));
        Assert.That(bench.MappingsOf(1), Is.Empty);
    }

    [Test]
    public void Map_WithMisalignedPhys_IsRange()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        Assert.That(bench.Map(1, 0, 0xFFF, 0x1800), Is.EqualTo(S.Range));
        Assert.That(bench.MappingsOf(1), Is.Empty);
    }

    [Test]
    public void UnknownType_ReturnsUsedLengthZeroAndLeavesBufferUntouched()
    {
        var bench = new IommuTestBench();
        var req = IommuRequests.AttachReq(1, 0);
        req[0] = 0x7F;
        var writable = new byte[] { 0x11, 0x22, 0x33, 0x44 };
        Assert.That(bench.Iommu.Requests.Process(req, writable), Is.Zero);
        Assert.That(writable, Is.EqualTo(new byte[] { 0x11, 0x22, 0x33, 0x44 }));
        Assert.That(bench.Stats.UnsupportedTypeRequests, Is.EqualTo(1));
    }

    [Test]
    public void Probe_WithWritableAreaSmallerThanProbeSizePlusTail_IsInvalWithNoProperty()
    {
        var bench = new IommuTestBench();
        var writable = new byte[100]; // probe_size is 512
        Array.Fill(writable, (byte)0xEE);
        uint used = bench.Iommu.Requests.Process(IommuRequests.ProbeReq(IommuTestBench.Nvme), writable);
        Assert.That(used, Is.EqualTo(100u), "the tail sits at the end of the driver's writable area");
        Assert.That(writable[96], Is.EqualTo((byte)S.Inval));
        Assert.That(writable[..96], Is.All.EqualTo(0), "no property written");
        Assert.That(writable[97..], Is.All.EqualTo(0));
    }

    [Test]
    public void Probe_ForUnknownEndpoint_IsNoEnt()
    {
        var bench = new IommuTestBench();
        var writable = new byte[512 + 4];
        Assert.That(bench.Iommu.Requests.Process(IommuRequests.ProbeReq(444), writable), Is.EqualTo(516u));
        Assert.That(writable[512], Is.EqualTo((byte)S.NoEnt));
        Assert.That(writable[..512], Is.All.EqualTo(0));
    }

    [Test]
    public void Probe_ReplyLayout_IsMsiResvMemThenZeroFillThenTail()
    {
        var bench = new IommuTestBench();
        var writable = new byte[512 + 4 + 16];
        Array.Fill(writable, (byte)0xEE);
        uint used = bench.Iommu.Requests.Process(IommuRequests.ProbeReq(IommuTestBench.Nvme), writable);
        Assert.Multiple(() =>
        {
            Assert.That(used, Is.EqualTo(516u), "used length = probe_size + 4");
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(writable), Is.EqualTo(1), "type RESV_MEM");
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(writable.AsSpan(2)), Is.EqualTo(20), "length excludes the header");
            Assert.That(writable[4], Is.EqualTo(1), "subtype MSI");
            Assert.That(writable[5..8], Is.All.EqualTo(0), "reserved");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(writable.AsSpan(8)), Is.EqualTo(0xFEE0_0000UL));
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(writable.AsSpan(16)), Is.EqualTo(0xFEEF_FFFFUL));
            Assert.That(writable[24..512], Is.All.EqualTo(0), "zero fill ends the list (type NONE)");
            Assert.That(writable[512..516], Is.EqualTo(new byte[] { 0, 0, 0, 0 }), "tail OK, reserved zero");
            Assert.That(writable[516..], Is.All.EqualTo(0xEE), "nothing past the used length");
        });
    }

    [Test]
    public void DeviceReset_DetachesEveryEndpointAndKeepsBypass()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        bench.Map(1, 0, 0xFFF, 0x1000);
        bench.Iommu.WriteConfig(36, [0]);
        bench.Iommu.Reset(ResetKind.Device);
        Assert.Multiple(() =>
        {
            Assert.That(bench.Iommu.Domains.DomainOf(0), Is.Null);
            Assert.That(bench.Iommu.Domains.DomainCount, Is.Zero);
            Assert.That(bench.Stats.LiveMappings, Is.Zero);
            Assert.That(bench.Iommu.Config.Bypass, Is.False, "bypass survives a device reset");
            Assert.That(bench.Iommu.NegotiatedFeatures, Is.EqualTo(VirtioIommuFeatures.None));
        });
    }

    [Test]
    public void WriteBypass_WithoutBypassConfigNegotiated_IsIgnoredAndLogged()
    {
        var bench = new IommuTestBench(negotiate: VirtioIommuFeatures.MapUnmap);
        bench.Iommu.WriteConfig(36, [0]);
        Assert.That(bench.Iommu.Config.Bypass, Is.True);
        Assert.That(bench.GuestErrors.Contains("bypass"), Is.True);
    }

    [Test]
    public void DmaFromUnattachedEndpointWithoutBypass_FaultsWithReasonDomainAndAddress()
    {
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(36, [0]);
        var t = bench.Translate(IommuTestBench.Nvme, 0x1234, 8, DmaAccess.Read);
        Assert.That(t.IsFault, Is.True);
        Assert.That(bench.Iommu.Faults.TryDequeue(out var f), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(f.Reason, Is.EqualTo(VirtioIommuFaultReason.Domain));
            Assert.That(f.Flags.HasFlag(VirtioIommuFaultFlags.Address), Is.True);
            Assert.That(f.Flags.HasFlag(VirtioIommuFaultFlags.Read), Is.True);
            Assert.That(f.Endpoint, Is.EqualTo((uint)IommuTestBench.Nvme));
            Assert.That(f.Address, Is.EqualTo(0x1234UL));
        });
        var record = new byte[24];
        f.Write(record);
        Assert.That(record[0], Is.EqualTo(1), "reason R_DOMAIN");
        Assert.That(record[1..4], Is.All.EqualTo(0), "reserved (Linux drops events with bits 8–31 of word 0 set)");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(4)), Is.EqualTo(0x101u), "F_READ | F_ADDRESS");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(8)), Is.EqualTo(0x18u));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(12)), Is.Zero, "reserved1");
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(16)), Is.EqualTo(0x1234UL));
    }
}
