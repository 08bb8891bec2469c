using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Devices.VirtioIommu.Spec;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing.Virtio;
using ManagedVmm.Virtio.Spec;
using static ManagedVmm.Devices.VirtioIommu.Spec.VirtioIommuStatus;
using D = ManagedVmm.Testing.Virtio.ViommuTestDriver;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>
/// The virtio-iommu through the real virtio-pci transport and split virtqueues: everything a driver sees, driven
/// from test RAM via ECAM and the BAR (QEMU's qtest way).
/// </summary>
public sealed class DeviceOnTransportTests
{
    private static VirtioIommuStatus S(byte status) => (VirtioIommuStatus)status;

    [Test]
    public void PciIdentity_IsVirtioIommuPci_1af4_1057_Class088000_RevisionAtLeast1()
    {
        using var rig = new TransportRig();
        var f = rig.Functions.Single(x => x.Address == rig.Function.Address);
        uint classRev = rig.Bed.ConfigRead32(f.Address, PciConfig.RevisionId);
        Assert.Multiple(() =>
        {
            Assert.That(f.VendorId, Is.EqualTo(0x1AF4));
            Assert.That(f.DeviceId, Is.EqualTo(0x1057));
            Assert.That(f.ClassCode, Is.EqualTo(0x08_80_00));
            Assert.That(classRev & 0xFF, Is.GreaterThanOrEqualTo(1u));
            Assert.That(rig.Iommu.Self, Is.EqualTo(new Bdf(0, 4, 0)), "placement told the engine its address");
        });
    }

    [Test]
    public void OfferedFeatures_AreTheOptionsPlusVersion1IndirectAndEventIdx()
    {
        using var rig = new TransportRig(o => o.Features = VirtioIommuFeatures.MapUnmap | VirtioIommuFeatures.Probe);
        ulong expected = (ulong)(VirtioIommuFeatures.MapUnmap | VirtioIommuFeatures.Probe)
            | (1UL << VirtioFeatures.VERSION_1) | (1UL << VirtioFeatures.RING_INDIRECT_DESC) | (1UL << VirtioFeatures.RING_EVENT_IDX);
        Assert.That(rig.Driver.Pci.DeviceFeatures, Is.EqualTo(expected));
    }

    [TestCase(1UL << D.FBypass, TestName = "FeaturesOk_Refused_ForAnUnofferedDeviceBit")]
    [TestCase(0UL, TestName = "FeaturesOk_Refused_WithoutVersion1")]
    public void FeaturesOk_RefusedForInvalidSets(ulong extra)
    {
        using var rig = new TransportRig();
        ulong features = extra == 0 ? D.Bit(D.FMapUnmap) : (1UL << VirtioFeatures.VERSION_1) | D.Bit(D.FMapUnmap) | extra;
        Assert.That(rig.Driver.Pci.Negotiate(features), Is.False);
        Assert.That(rig.Iommu.NegotiatedFeatures, Is.EqualTo(VirtioIommuFeatures.None));
    }

    [Test]
    public void QemuConfig_ThroughDeviceConfigInTheBar()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        Assert.Multiple(() =>
        {
            Assert.That(d.Pci.ReadConfig64(D.CfgInputStart), Is.EqualTo(0UL));
            Assert.That(d.Pci.ReadConfig64(D.CfgInputEnd), Is.GreaterThanOrEqualTo(0xFFFF_FFFFUL));
            Assert.That(d.Pci.ReadConfig32(D.CfgDomainStart), Is.EqualTo(0u));
            Assert.That(d.Pci.ReadConfig32(D.CfgDomainEnd), Is.EqualTo(0xFFFF_FFFFu));
            Assert.That(d.Bypass, Is.EqualTo(1));
            Assert.That(d.PageSizeMask, Is.EqualTo(~0xFFFUL));
            Assert.That(d.ProbeSize, Is.EqualTo(512u));
        });
    }

    [Test]
    public void QemuAttachDetach_ThroughTheQueue()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize(eventq: false);
        Assert.Multiple(() =>
        {
            Assert.That(S(d.Attach(0, 0)), Is.EqualTo(Ok), "1");
            Assert.That(S(d.Attach(0, 444)), Is.EqualTo(NoEnt), "2");
            Assert.That(S(d.Detach(0, 1)), Is.EqualTo(NoEnt), "3");
            Assert.That(S(d.Attach(1, 0)), Is.EqualTo(Ok), "4");
            Assert.That(S(d.Detach(0, 0)), Is.EqualTo(Inval), "5");
            Assert.That(S(d.Detach(1, 0)), Is.EqualTo(Ok), "6");
            Assert.That(S(d.Attach(1, 0)), Is.EqualTo(Ok), "7");
            Assert.That(S(d.Map(1, 0, 0xFFF, 0xa1000, D.MapRead)), Is.EqualTo(Ok), "8");
            Assert.That(S(d.Map(1, 0x2000, 0x2FFF, 0xb1000, D.MapRead)), Is.EqualTo(Ok), "9");
            Assert.That(S(d.Detach(1, 0)), Is.EqualTo(Ok), "10");
            Assert.That(rig.Iommu.Domains.DomainCount, Is.Zero);
            Assert.That(rig.Stats.LiveMappings, Is.Zero);
        });
    }

    [Test]
    public void QemuMapUnmap_ThroughTheQueue_WithAByteGranule()
    {
        using var rig = new TransportRig(o => o.Granule = 1);
        var d = rig.Driver;
        d.Initialize(eventq: false);
        Assert.Multiple(() =>
        {
            Assert.That(S(d.Attach(1, 0)), Is.EqualTo(Ok), "1");
            Assert.That(S(d.Map(0, 0, 0xFFF, 0xa1000, D.MapRead)), Is.EqualTo(NoEnt), "2");
            Assert.That(S(d.Map(1, 0, 0xFFF, 0xa1000, D.MapRead)), Is.EqualTo(Ok), "3");
            Assert.That(S(d.Map(1, 0, 0xFFFF, 0xb1000, D.MapRead)), Is.EqualTo(Inval), "4");
            Assert.That(S(d.Unmap(4, 0x10, 0xFFF)), Is.EqualTo(NoEnt), "5");
            Assert.That(S(d.Unmap(1, 0x10, 0xFFF)), Is.EqualTo(VirtioIommuStatus.Range), "6");
            Assert.That(S(d.Unmap(1, 0, 0x1000)), Is.EqualTo(Ok), "7");
            Assert.That(S(d.Unmap(1, 0, 4)), Is.EqualTo(Ok), "spec (1)");
            Assert.That(S(d.Map(1, 0, 9, 0xc1000, D.MapRead)), Is.EqualTo(Ok), "spec (4) map");
            Assert.That(S(d.Unmap(1, 0, 4)), Is.EqualTo(VirtioIommuStatus.Range), "spec (4) split refused");
            Assert.That(S(d.Unmap(1, 0, 10)), Is.EqualTo(Ok), "spec (4) whole");
            Assert.That(S(d.Map(1, 10, 14, 0xf3000, D.MapRead)), Is.EqualTo(Ok), "15 map b");
            Assert.That(S(d.Map(1, 0, 4, 0xf2000, D.MapRead)), Is.EqualTo(Ok), "15 map a");
            Assert.That(S(d.Unmap(1, 0, 4)), Is.EqualTo(Ok), "15 unmap a");
            Assert.That(S(d.Map(1, 10, 14, 0xf3000, D.MapRead)), Is.EqualTo(Inval), "15 b is still mapped");
        });
    }

    [Test]
    public void Probe_UsedLengthIsProbeSizePlus4_WithTheMsiWindowProperty()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize(eventq: false);
        var reply = d.Probe(TransportRig.EndpointId);
        Assert.Multiple(() =>
        {
            Assert.That(reply.UsedLength, Is.EqualTo(512u + 4));
            Assert.That(reply.Status, Is.EqualTo(D.SOk));
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(reply.Writable), Is.EqualTo(1), "RESV_MEM type");
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(reply.Writable.AsSpan(2)), Is.EqualTo(20), "length");
            Assert.That(reply.Writable[4], Is.EqualTo(1), "subtype MSI");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(reply.Writable.AsSpan(8)), Is.EqualTo(0xFEE0_0000UL));
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(reply.Writable.AsSpan(16)), Is.EqualTo(0xFEEF_FFFFUL));
        });
    }

    [TestCase(D.TAttach)]
    [TestCase(D.TProbe)]
    public void NonExistentEndpoint_IsNoEnt(byte type)
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize(eventq: false);
        var status = type == D.TAttach ? d.Attach(1, 0x99) : d.Probe(0x99).Status;
        Assert.That(S(status), Is.EqualTo(NoEnt));
    }

    [Test]
    public void UnknownRequestType_UsedLength0_NothingWritten()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize(eventq: false);
        var q = d.RequestQueue;
        var request = q.Readable([0x7F, 0, 0, 0, 1, 0, 0, 0]);
        var tail = q.Writable(4);
        rig.Bed.Ram.TryWrite(tail.Address, new byte[] { 0xAA, 0xBB, 0xCC, 0xDD });
        q.Add([request, tail]);
        q.Kick();
        var used = q.GetUsed();
        Assert.That(used.Length, Is.Zero);
        Assert.That(q.WritableBytes([tail]), Is.EqualTo(new byte[] { 0xAA, 0xBB, 0xCC, 0xDD }));
        Assert.That(rig.Stats.UnsupportedTypeRequests, Is.EqualTo(1));
    }

    [Test]
    public void MalformedChains_GetUsedLength0_AndTheQueueCarriesOn()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize(eventq: false);
        var q = d.RequestQueue;

        q.Add([q.Readable([D.TAttach, 0]), q.Writable(4)]);                 // head too short
        q.Add([q.Readable(D.AttachRequest(D.TAttach, 1, 0, 0))]);            // no writable tail
        q.Add([q.Writable(4), q.Readable(D.AttachRequest(D.TAttach, 1, 0, 0))]); // readable after writable
        q.Kick();
        var lengths = new[] { q.GetUsed().Length, q.GetUsed().Length, q.GetUsed().Length };
        Assert.That(lengths, Is.All.Zero);
        Assert.That(rig.Iommu.Domains.DomainCount, Is.Zero, "none of them attached anything");
        Assert.That(S(d.Attach(1, 0)), Is.EqualTo(Ok), "the device still answers");
    }

    [Test]
    public void RequestSplitAcrossDescriptors_AndIndirect_AreAnsweredNormally()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize((1UL << VirtioFeatures.VERSION_1) | (1UL << VirtioFeatures.RING_INDIRECT_DESC) | D.Bit(D.FMapUnmap), eventq: false);
        Assert.That(S(d.Attach(1, TransportRig.EndpointId)), Is.EqualTo(Ok));
        var q = d.RequestQueue;
        byte[] map = D.MapRequest(1, 0x10000, 0x10FFF, 0x200000, D.MapRead);
        var split = new[] { q.Readable(map[..3]), q.Readable(map[3..20]), q.Readable(map[20..]), q.Writable(1), q.Writable(3) };
        q.Add(split);
        q.Kick();
        Assert.That(q.GetUsed().Length, Is.EqualTo(4u));
        Assert.That(q.WritableBytes(split), Is.EqualTo(new byte[4]), "OK tail split 1+3");

        var indirect = new[] { q.Readable(D.UnmapRequest(1, 0x10000, 0x10FFF)), q.Writable(4) };
        q.Add(indirect, indirect: true);
        q.Kick();
        Assert.That(q.GetUsed().Length, Is.EqualTo(4u));
        Assert.That(rig.Stats.LiveMappings, Is.Zero);
    }

    [Test]
    public void NotifyBeforeDriverOk_IsIgnored_TheChainIsServedAtTheFirstKickAfter()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        Assert.That(d.Pci.Negotiate((1UL << VirtioFeatures.VERSION_1) | D.Bit(D.FMapUnmap)), Is.True);
        var q = d.Pci.SetupQueue(0);
        var buffers = new[] { q.Readable(D.AttachRequest(D.TAttach, 1, 0, 0)), q.Writable(4) };
        q.Add(buffers);
        q.Kick();
        Assert.That(q.TryGetUsed(out _), Is.False, "nothing used before DRIVER_OK");
        Assert.That(rig.Iommu.Domains.DomainCount, Is.Zero);

        d.Pci.DriverOk();
        q.Kick();
        Assert.That(q.GetUsed().Length, Is.EqualTo(4u));
        Assert.That(rig.Iommu.Domains.DomainCount, Is.EqualTo(1));
    }

    [Test]
    public void OneKick_ProcessesEveryAvailableChain_AndIsCounted()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize(eventq: false);
        var q = d.RequestQueue;
        Assert.That(S(d.Attach(1, TransportRig.EndpointId)), Is.EqualTo(Ok));
        for (int i = 0; i < 5; i++)
        {
            q.Add([q.Readable(D.MapRequest(1, (ulong)i << 12, ((ulong)i << 12) + 0xFFF, 0x100000, D.MapRead)), q.Writable(4)]);
        }

        q.Kick();
        for (int i = 0; i < 5; i++)
        {
            Assert.That(q.GetUsed().Length, Is.EqualTo(4u));
        }

        Assert.Multiple(() =>
        {
            Assert.That(rig.Stats.Kicks, Is.EqualTo(2));
            Assert.That(rig.Stats.ChainsProcessed, Is.EqualTo(6));
            Assert.That(rig.Stats.MaxChainsPerKick, Is.EqualTo(5));
            Assert.That(rig.Stats.LiveMappings, Is.EqualTo(5));
        });
    }

    [Test]
    public void UsedBufferNotification_FollowsUsedEvent_WithEventIdx()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize(eventq: false, eventIdx: true, msix: true);
        var q = d.RequestQueue;
        uint data = VirtioPciDriverMsi(0);

        q.SetUsedEvent(0);
        Assert.That(S(d.Attach(1, 0)), Is.EqualTo(Ok));
        Assert.That(rig.Bed.Msi.CountVector(data), Is.EqualTo(1), "used_event 0 crossed: interrupt");

        q.SetUsedEvent(100);
        Assert.That(S(d.Detach(1, 0)), Is.EqualTo(Ok));
        Assert.That(rig.Bed.Msi.CountVector(data), Is.EqualTo(1), "used_event far ahead: suppressed");
    }

    private static uint VirtioPciDriverMsi(int vector) => VirtioPciDriver.MsixData(vector);

    [Test]
    public void DeviceReset_KeepsBypass_SystemReset_RestoresIt()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize(eventq: false);
        d.SetBypass(0);
        Assert.That(S(d.Attach(1, TransportRig.EndpointId)), Is.EqualTo(Ok));
        Assert.That(d.Bypass, Is.EqualTo(0));

        d.Pci.Reset(); // status 0
        Assert.Multiple(() =>
        {
            Assert.That(d.Bypass, Is.EqualTo(0), "device reset keeps bypass");
            Assert.That(rig.Iommu.Domains.DomainCount, Is.Zero, "device reset detaches everything");
            Assert.That(rig.EndpointRead(0x1000), Is.False, "unattached with bypass 0: blocked");
        });

        rig.Bed.Pci.Reset(ResetKind.System);
        rig.Bed.ConfigWrite16(rig.Endpoint.Address, PciConfig.Command, (ushort)PciCommand.BusMaster); // firmware again
        Assert.Multiple(() =>
        {
            Assert.That(rig.Iommu.Config.Bypass, Is.True, "system reset restores boot bypass");
            Assert.That(rig.EndpointRead(0x1000), Is.True, "unattached endpoints bypass again");
        });
    }

    [Test]
    public void FaultEvent_IsDeliveredOnTheEventQueue_WithReasonFlagsEndpointAddress()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize();
        d.SetBypass(0);
        Assert.That(rig.EndpointWrite(0x12345), Is.False);
        Assert.That(S(d.Attach(1, TransportRig.EndpointId)), Is.EqualTo(Ok));
        Assert.That(rig.EndpointRead(0x8000), Is.False);

        var faults = d.TakeFaults();
        Assert.That(faults, Has.Count.EqualTo(2));
        Assert.Multiple(() =>
        {
            Assert.That(faults[0].UsedLength, Is.EqualTo(24u));
            Assert.That(faults[0].Reason, Is.EqualTo(D.FaultRDomain));
            Assert.That(faults[0].Flags, Is.EqualTo(D.FaultFWrite | D.FaultFAddress));
            Assert.That(faults[0].Endpoint, Is.EqualTo((uint)TransportRig.EndpointId));
            Assert.That(faults[0].Address, Is.EqualTo(0x12345UL));
            Assert.That(faults[0].Raw[1..4], Is.All.Zero, "reserved");
            Assert.That(faults[0].Raw[12..16], Is.All.Zero, "reserved1");
            Assert.That(faults[1].Reason, Is.EqualTo(D.FaultRMapping));
            Assert.That(faults[1].Flags, Is.EqualTo(D.FaultFRead | D.FaultFAddress));
            Assert.That(faults[1].Address, Is.EqualTo(0x8000UL));
            Assert.That(rig.Stats.FaultEventsDelivered, Is.EqualTo(2));
        });
    }

    [Test]
    public void FaultsWithoutBuffers_WaitUpToTheBound_AreDeliveredWhenBuffersArrive_AndTheRestAreDroppedAndCounted()
    {
        using var rig = new TransportRig(o => o.MaxPendingFaults = 4);
        var d = rig.Driver;
        d.Initialize(eventBuffers: 0);
        d.SetBypass(0);
        for (int i = 0; i < 6; i++)
        {
            Assert.That(rig.EndpointRead(0x1000UL * (ulong)(i + 1)), Is.False);
        }

        Assert.That(d.TakeFaults(), Is.Empty, "no buffer, nothing delivered");
        Assert.That(rig.Iommu.Faults.Count, Is.EqualTo(4));
        Assert.That(rig.Stats.FaultEventsDropped, Is.EqualTo(2));

        d.AddEventBuffers(8);
        var faults = d.TakeFaults();
        Assert.That(faults.Select(f => f.Address), Is.EqualTo(new ulong[] { 0x1000, 0x2000, 0x3000, 0x4000 }), "oldest first");
        Assert.That(rig.Stats.FaultEventsDelivered, Is.EqualTo(4));
    }

    [Test]
    public void EventBufferTooSmall_IsReturnedWithUsedLength0_AndTheFaultGoesInTheNextBuffer()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize(eventBuffers: 0);
        d.AddEventBuffers(1, size: 8);
        d.AddEventBuffers(1);
        d.SetBypass(0);
        Assert.That(rig.EndpointRead(0x5000), Is.False);
        var used = d.TakeFaults();
        Assert.That(used.Select(f => f.UsedLength), Is.EqualTo(new uint[] { 0, 24 }));
        Assert.That(used[1].Address, Is.EqualTo(0x5000UL));
        Assert.That(rig.Device.RejectedEventBuffers, Is.EqualTo(1));
    }

    [Test]
    public void TheIommu_NeverTranslatesItself_EvenWithBypassOff()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize();
        d.SetBypass(0);
        long before = rig.Stats.Translations;
        Assert.That(S(d.Attach(1, TransportRig.EndpointId)), Is.EqualTo(Ok), "its rings and buffers are reached untranslated");
        Assert.That(S(d.Map(1, 0x10000, 0x10FFF, 0x20000, D.MapRead)), Is.EqualTo(Ok));
        Assert.Multiple(() =>
        {
            Assert.That(rig.Function.Covers(rig.Function.Address), Is.False);
            Assert.That(rig.Bed.Dma.ForRequester(rig.Function.Address).Description, Does.StartWith("identity"),
                "the engine knew its address before its DMA view was made");
            Assert.That(rig.Stats.Translations, Is.EqualTo(before), "no translation was asked for the IOMMU's own DMA");
            Assert.That(rig.Stats.Faults, Is.Zero);
        });
    }

    [Test]
    public void StateReporter_ShowsEndpointsDomainsMappingsAndQueues()
    {
        using var rig = new TransportRig();
        var d = rig.Driver;
        d.Initialize();
        Assert.That(S(d.Attach(7, TransportRig.EndpointId)), Is.EqualTo(Ok));
        for (int i = 0; i < 100; i++)
        {
            Assert.That(S(d.Map(7, (ulong)i << 12, ((ulong)i << 12) + 0xFFF, 0x100000, D.MapRead)), Is.EqualTo(Ok));
        }

        var state = rig.Function.CaptureState();
        var iommu = state["iommu"]!;
        var domain = iommu["Domains"]![0]!;
        Assert.Multiple(() =>
        {
            Assert.That(rig.Function.StateName, Is.EqualTo("virtio-iommu"));
            Assert.That((string?)iommu["Endpoints"]![0]!["Bdf"], Is.EqualTo("00:03.0"));
            Assert.That((int)domain["MappingCount"]!, Is.EqualTo(100));
            Assert.That(domain["Mappings"]!.AsArray(), Has.Count.EqualTo(VirtioIommuPciFunction.MaxMappingsShownPerDomain), "bounded listing");
            Assert.That((long)state["queues"]![0]!["kicks"]!, Is.EqualTo(101));
            Assert.That((string?)state["deviceStatus"], Does.Contain("DRIVER_OK"));
        });
    }
}
