using System.Text;
using ManagedVmm.Pci;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Virtio.Spec;
using ManagedVmm.Virtio.Transport;

namespace ManagedVmm.Virtio.Tests;

public sealed class VirtioPciTransportTests
{
    private static uint Data(int vector) => Testing.Virtio.VirtioPciDriver.MsixData(vector);

    [Test]
    public void Identity_IsModernVirtioWithDeviceClassAndRevisionOne()
    {
        using var b = new EchoBench();
        var q = b.Bed;
        Assert.Multiple(() =>
        {
            Assert.That(q.ConfigRead16(b.Bdf, PciConfig.VendorId), Is.EqualTo(0x1AF4));
            Assert.That(q.ConfigRead16(b.Bdf, PciConfig.DeviceId), Is.EqualTo(0x1040 + 63));
            Assert.That(q.ConfigRead8(b.Bdf, PciConfig.RevisionId), Is.GreaterThanOrEqualTo(1));
            Assert.That(q.ConfigRead32(b.Bdf, PciConfig.RevisionId) >> 8, Is.EqualTo(0xFF0000));
            Assert.That(q.ConfigRead16(b.Bdf, PciConfig.SubsystemVendorId), Is.EqualTo(0x1AF4));
            Assert.That(q.ConfigRead16(b.Bdf, PciConfig.SubsystemId), Is.GreaterThanOrEqualTo(0x40));
        });
    }

    [Test]
    public void Capabilities_DescribeEveryStructureInOne64BitBar()
    {
        using var b = new EchoBench();
        var caps = b.Driver.Caps;
        Assert.That(caps.Keys, Is.SupersetOf(new byte[] { VirtioPciCapType.COMMON_CFG, VirtioPciCapType.NOTIFY_CFG, VirtioPciCapType.ISR_CFG, VirtioPciCapType.DEVICE_CFG, VirtioPciCapType.PCI_CFG }));
        Assert.Multiple(() =>
        {
            Assert.That(caps[VirtioPciCapType.COMMON_CFG].Length, Is.GreaterThanOrEqualTo(0x38u));
            Assert.That(caps[VirtioPciCapType.COMMON_CFG].Offset % 4, Is.Zero);
            Assert.That(caps[VirtioPciCapType.DEVICE_CFG].Length, Is.EqualTo(8u));
            Assert.That(caps[VirtioPciCapType.NOTIFY_CFG].Length, Is.GreaterThanOrEqualTo((uint)(1 * b.Driver.NotifyOffMultiplier) + 2));
            Assert.That(b.Driver.NotifyOffMultiplier, Is.EqualTo(4u));
            Assert.That(b.Driver.MsixCap, Is.Not.Zero);
            Assert.That(b.Function.Bars[VirtioPciLayout.Bar]!.Kind, Is.EqualTo(PciBarKind.Memory64));
            Assert.That(b.Driver.BarAddress(VirtioPciLayout.Bar), Is.Not.Zero);
            foreach (var c in caps.Values)
            {
                Assert.That(b.Bed.ConfigRead8(b.Bdf, c.CapOffset + 2), Is.GreaterThanOrEqualTo(16), "cap_len");
            }
        });
        Assert.That(b.Bed.ConfigRead8(b.Bdf, caps[VirtioPciCapType.NOTIFY_CFG].CapOffset + 2), Is.EqualTo(20));
    }

    [Test]
    public void Handshake_FullBringUp_ActivatesDeviceWithNegotiatedFeaturesAndEchoes()
    {
        using var b = new EchoBench();
        var vqs = b.Start(EchoBench.BaseFeatures | (1UL << EchoDevice.F_ECHO_UPPER));
        Assert.That(b.Driver.Status, Is.EqualTo(VirtioDeviceStatus.ACKNOWLEDGE | VirtioDeviceStatus.DRIVER | VirtioDeviceStatus.FEATURES_OK | VirtioDeviceStatus.DRIVER_OK));
        Assert.That(b.Device.Activations, Is.EqualTo(1));
        Assert.That(b.Device.Activation!.Features, Is.EqualTo(EchoBench.BaseFeatures | (1UL << EchoDevice.F_ECHO_UPPER)));
        var (used, reply) = b.Echo(vqs[0], Encoding.ASCII.GetBytes("hello"), 5);
        Assert.That(used.Length, Is.EqualTo(5));
        Assert.That(Encoding.ASCII.GetString(reply), Is.EqualTo("HELLO"));
    }

    [Test]
    public void DeviceFeature_ReadsBothWordsAndZeroBeyond()
    {
        using var b = new EchoBench();
        Assert.That(b.Driver.DeviceFeatures, Is.EqualTo(EchoDevice.DefaultFeatures));
        b.Driver.Write32(VirtioPciCommonCfg.device_feature_select, 2);
        Assert.That(b.Driver.Read32(VirtioPciCommonCfg.device_feature), Is.Zero);
        b.Driver.Write32(VirtioPciCommonCfg.device_feature_select, 0xFFFF_FFFF);
        Assert.That(b.Driver.Read32(VirtioPciCommonCfg.device_feature), Is.Zero);
    }

    [Test]
    public void DriverFeature_ReadsBackWhatWasWritten()
    {
        using var b = new EchoBench();
        b.Driver.WriteDriverFeatures(EchoBench.BaseFeatures | 1);
        b.Driver.Write32(VirtioPciCommonCfg.driver_feature_select, 0);
        Assert.That(b.Driver.Read32(VirtioPciCommonCfg.driver_feature), Is.EqualTo(1u));
        b.Driver.Write32(VirtioPciCommonCfg.driver_feature_select, 1);
        Assert.That(b.Driver.Read32(VirtioPciCommonCfg.driver_feature), Is.EqualTo(1u));
    }

    private static IEnumerable<TestCaseData> RefusedFeatureSets()
    {
        yield return new TestCaseData(0UL).SetName("FeaturesOk_WithoutVersion1_IsRefused");
        yield return new TestCaseData(1UL << EchoDevice.F_ECHO_UPPER).SetName("FeaturesOk_DeviceBitsWithoutVersion1_IsRefused");
        yield return new TestCaseData(EchoBench.BaseFeatures | (1UL << 5)).SetName("FeaturesOk_BitNotOffered_IsRefused");
        yield return new TestCaseData(EchoBench.BaseFeatures | (1UL << VirtioFeatures.RING_PACKED)).SetName("FeaturesOk_TransportBitNotOffered_IsRefused");
        yield return new TestCaseData(EchoBench.BaseFeatures | (1UL << EchoDevice.F_ECHO_NEEDS_UPPER)).SetName("FeaturesOk_DeviceRejectsMissingDependency_IsRefused");
    }

    [TestCaseSource(nameof(RefusedFeatureSets))]
    public void FeaturesOk_InvalidSet_ReadsBackClear(ulong features)
    {
        using var b = new EchoBench();
        Assert.That(b.Driver.Negotiate(features), Is.False);
        Assert.That(b.GuestErrors, Is.GreaterThan(0));

        // DRIVER_OK without FEATURES_OK is refused too: the device never activates.
        b.Driver.DriverOk();
        Assert.That(b.Driver.Status & VirtioDeviceStatus.DRIVER_OK, Is.EqualTo((VirtioDeviceStatus)0));
        Assert.That(b.Device.Activations, Is.Zero);
    }

    [Test]
    public void FeaturesOk_ValidSubset_IsAccepted_AndDriverFeatureIsFrozen()
    {
        using var b = new EchoBench();
        ulong f = EchoBench.BaseFeatures | (1UL << EchoDevice.F_ECHO_UPPER) | (1UL << EchoDevice.F_ECHO_NEEDS_UPPER);
        Assert.That(b.Driver.Negotiate(f), Is.True);
        b.Driver.Write32(VirtioPciCommonCfg.driver_feature_select, 0);
        b.Driver.Write32(VirtioPciCommonCfg.driver_feature, 0);
        Assert.That(b.Function.DriverFeatures, Is.EqualTo(f));
    }

    [Test]
    public void StatusZero_ResetsDeviceQueuesAndVectors()
    {
        using var b = new EchoBench();
        var vqs = b.Start(msix: true);
        b.Echo(vqs[0], [1, 2, 3], 3);
        b.Device.Resets.Clear();
        b.Driver.Reset();
        Assert.Multiple(() =>
        {
            Assert.That(b.Driver.Status, Is.EqualTo(VirtioDeviceStatus.Reset));
            Assert.That(b.Device.Resets, Is.EqualTo(new[] { Core.ResetKind.Device }));
            Assert.That(b.Function.Queues[0].IsReady, Is.False);
            Assert.That(b.Function.DriverFeatures, Is.Zero);
            Assert.That(b.Driver.Read16(VirtioPciCommonCfg.config_msix_vector), Is.EqualTo(VirtioPciMsix.NO_VECTOR));
        });
        b.Driver.Write16(VirtioPciCommonCfg.queue_select, 0);
        Assert.Multiple(() =>
        {
            Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_enable), Is.Zero);
            Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_size), Is.EqualTo(16));
            Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_msix_vector), Is.EqualTo(VirtioPciMsix.NO_VECTOR));
            Assert.That(b.Bed.ReadQ(b.Driver.CommonBase + VirtioPciCommonCfg.queue_desc), Is.Zero);
        });

        // And the device can be brought up again.
        vqs = b.Start();
        Assert.That(b.Echo(vqs[0], [9], 1).Used.Length, Is.EqualTo(1));
    }

    [Test]
    public void Status_DriverClearingBits_IsIgnored()
    {
        using var b = new EchoBench();
        b.Driver.Negotiate(EchoBench.BaseFeatures);
        b.Driver.Status = VirtioDeviceStatus.ACKNOWLEDGE;
        Assert.That(b.Driver.Status, Is.EqualTo(VirtioDeviceStatus.ACKNOWLEDGE | VirtioDeviceStatus.DRIVER | VirtioDeviceStatus.FEATURES_OK));
    }

    [Test]
    public void NumQueues_AndQueueSelectOutOfRange_ReadsQueueSizeZero()
    {
        using var b = new EchoBench(queues: 3);
        Assert.That(b.Driver.Read16(VirtioPciCommonCfg.num_queues), Is.EqualTo(3));
        foreach (ushort sel in new ushort[] { 3, 4, 0x8000, 0xFFFF })
        {
            b.Driver.Write16(VirtioPciCommonCfg.queue_select, sel);
            Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_size), Is.Zero, $"queue_select {sel}");
            Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_enable), Is.Zero);
            b.Driver.Write16(VirtioPciCommonCfg.queue_size, 8);
            b.Driver.Write16(VirtioPciCommonCfg.queue_enable, 1);
            b.Driver.Write32(VirtioPciCommonCfg.queue_desc, 0x1000);
            b.Driver.Write16(VirtioPciCommonCfg.queue_msix_vector, 0);
            Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_msix_vector), Is.EqualTo(VirtioPciMsix.NO_VECTOR));
        }

        Assert.That(b.Function.Queues.All(q => !q.Enabled), Is.True);
    }

    [Test]
    public void QueueSize_DriverMayShrinkToPowerOfTwo_OtherValuesIgnored()
    {
        using var b = new EchoBench(queueSize: 64);
        b.Driver.Write16(VirtioPciCommonCfg.queue_select, 1);
        b.Driver.Write16(VirtioPciCommonCfg.queue_size, 8);
        Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_size), Is.EqualTo(8));
        foreach (ushort bad in new ushort[] { 0, 7, 128, 0xFFFF })
        {
            b.Driver.Write16(VirtioPciCommonCfg.queue_size, bad);
            Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_size), Is.EqualTo(8), $"queue_size {bad}");
        }
    }

    [Test]
    public void QueueAddresses_Are64BitAsIndependent32BitHalves_AndFrozenOnceEnabled()
    {
        using var b = new EchoBench();
        b.Driver.Write16(VirtioPciCommonCfg.queue_select, 1);
        b.Driver.Write32(VirtioPciCommonCfg.queue_desc, 0x1234_5000);
        b.Driver.Write32(VirtioPciCommonCfg.queue_desc + 4, 0x1);
        b.Driver.Write32(VirtioPciCommonCfg.queue_driver + 4, 0x2);
        b.Driver.Write32(VirtioPciCommonCfg.queue_driver, 0x6000);
        b.Bed.WriteQ(b.Driver.CommonBase + VirtioPciCommonCfg.queue_device, 0x3_0000_7000);
        Assert.Multiple(() =>
        {
            Assert.That(b.Function.Queues[1].DescTable, Is.EqualTo(0x1_1234_5000UL));
            Assert.That(b.Function.Queues[1].AvailRing, Is.EqualTo(0x2_0000_6000UL));
            Assert.That(b.Function.Queues[1].UsedRing, Is.EqualTo(0x3_0000_7000UL));
            Assert.That(b.Driver.Read32(VirtioPciCommonCfg.queue_desc + 4), Is.EqualTo(1u));
            Assert.That(b.Bed.ReadQ(b.Driver.CommonBase + VirtioPciCommonCfg.queue_driver), Is.EqualTo(0x2_0000_6000UL));
        });

        b.Driver.Write16(VirtioPciCommonCfg.queue_enable, 1);
        b.Driver.Write32(VirtioPciCommonCfg.queue_desc, 0x9000);
        b.Driver.Write16(VirtioPciCommonCfg.queue_size, 4);
        Assert.That(b.Function.Queues[1].DescTable, Is.EqualTo(0x1_1234_5000UL));
        Assert.That(b.Function.Queues[1].Size, Is.EqualTo(16));
    }

    [Test]
    public void QueueEnable_WritingZero_IsIgnored()
    {
        using var b = new EchoBench();
        b.Start();
        b.Driver.Write16(VirtioPciCommonCfg.queue_select, 0);
        b.Driver.Write16(VirtioPciCommonCfg.queue_enable, 0);
        Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_enable), Is.EqualTo(1));
    }

    [Test]
    public void QueueNotifyOff_IsQueueIndex()
    {
        using var b = new EchoBench(queues: 3);
        for (ushort i = 0; i < 3; i++)
        {
            b.Driver.Write16(VirtioPciCommonCfg.queue_select, i);
            Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_notify_off), Is.EqualTo(i));
        }
    }

    private static IEnumerable<TestCaseData> OddWidthWrites()
    {
        // (offset, width): none of them is a whole field at its natural width.
        yield return new TestCaseData(VirtioPciCommonCfg.device_status, 2);
        yield return new TestCaseData(VirtioPciCommonCfg.device_status, 4);
        yield return new TestCaseData(VirtioPciCommonCfg.queue_select, 1);
        yield return new TestCaseData(VirtioPciCommonCfg.queue_select + 1, 1);
        yield return new TestCaseData(VirtioPciCommonCfg.queue_size, 4);
        yield return new TestCaseData(VirtioPciCommonCfg.driver_feature_select, 2);
        yield return new TestCaseData(VirtioPciCommonCfg.queue_desc + 2, 4);
        yield return new TestCaseData(VirtioPciCommonCfg.queue_desc + 4, 8);
        yield return new TestCaseData(VirtioPciCommonCfg.config_msix_vector, 1);
        yield return new TestCaseData(0x37, 2);
        yield return new TestCaseData(0x40, 4);
        yield return new TestCaseData(0xFFE, 2);
    }

    [TestCaseSource(nameof(OddWidthWrites))]
    public void CommonConfig_WriteNotMatchingAField_IsIgnoredAndLogged(int offset, int width)
    {
        using var b = new EchoBench();
        b.Driver.Negotiate(EchoBench.BaseFeatures);
        var before = new byte[0x38];
        for (int i = 0; i < before.Length; i++)
        {
            before[i] = b.Bed.ReadB(b.Driver.CommonBase + (ulong)i);
        }

        long errors = b.GuestErrors;
        var data = new byte[width];
        Array.Fill(data, (byte)0xA5);
        b.Bed.Memory.TryWrite(b.Driver.CommonBase + (ulong)offset, data);
        var after = new byte[0x38];
        for (int i = 0; i < after.Length; i++)
        {
            after[i] = b.Bed.ReadB(b.Driver.CommonBase + (ulong)i);
        }

        Assert.That(after, Is.EqualTo(before));
        Assert.That(b.GuestErrors, Is.GreaterThan(errors));
    }

    [Test]
    public void CommonConfig_ReadsAtAnyWidthAndOffset_ComposeTheFields()
    {
        using var b = new EchoBench(queues: 2);
        b.Driver.Write16(VirtioPciCommonCfg.queue_select, 1);
        // num_queues (0x12) is the high half of the dword at 0x10; config_msix_vector is NO_VECTOR.
        Assert.That(b.Bed.ReadL(b.Driver.CommonBase + 0x10), Is.EqualTo(0x0002_FFFFu));
        Assert.That(b.Bed.ReadB(b.Driver.CommonBase + 0x13), Is.Zero);
        Assert.That(b.Bed.ReadW(b.Driver.CommonBase + 0x17), Is.EqualTo(0x1000)); // queue_select high byte 0, queue_size low byte 16
        Assert.That(b.Bed.ReadQ(b.Driver.CommonBase + 0x38), Is.Zero);
        Assert.That(b.Bed.ReadL(b.Driver.CommonBase + 0x800), Is.Zero);
    }

    [Test]
    public void MsixVectors_InvalidReadsNoVector_NoVectorIsHonoured()
    {
        using var b = new EchoBench(queues: 2);
        b.Driver.Negotiate(EchoBench.BaseFeatures);
        b.Driver.EnableMsix(3);
        b.Driver.Write16(VirtioPciCommonCfg.config_msix_vector, 3);
        Assert.That(b.Driver.Read16(VirtioPciCommonCfg.config_msix_vector), Is.EqualTo(VirtioPciMsix.NO_VECTOR));
        b.Driver.Write16(VirtioPciCommonCfg.config_msix_vector, 2);
        Assert.That(b.Driver.Read16(VirtioPciCommonCfg.config_msix_vector), Is.EqualTo(2));

        var vq0 = b.Driver.SetupQueue(0, vector: 0);
        var vq1 = b.Driver.SetupQueue(1, vector: VirtioPciMsix.NO_VECTOR);
        b.Driver.Write16(VirtioPciCommonCfg.queue_select, 1);
        b.Driver.Write16(VirtioPciCommonCfg.queue_msix_vector, 0x7FF);
        Assert.That(b.Driver.Read16(VirtioPciCommonCfg.queue_msix_vector), Is.EqualTo(VirtioPciMsix.NO_VECTOR));
        b.Driver.DriverOk();

        b.Echo(vq0, [1], 1);
        Assert.That(b.Bed.Msi.CountVector(Data(0)), Is.EqualTo(1));
        b.Bed.Msi.Clear();

        // Queue 1 has NO_VECTOR: its used buffers are returned without any message.
        b.Echo(vq1, [1], 1);
        Assert.That(b.Bed.Msi.Count, Is.Zero);

        b.Device.BumpVersion();
        Assert.That(b.Bed.Msi.CountVector(Data(2)), Is.EqualTo(1));
    }

    [Test]
    public void MsixVectors_PerQueueAndConfig_GoToTheirOwnVectors()
    {
        using var b = new EchoBench(queues: 2);
        var vqs = b.Start(msix: true);
        b.Echo(vqs[1], [1], 1);
        b.Echo(vqs[0], [1], 1);
        b.Echo(vqs[1], [1], 1);
        b.Device.BumpVersion();
        Assert.That(b.Bed.Msi.Messages.Select(m => m.Message.Data), Is.EqualTo(new[] { Data(1), Data(0), Data(1), Data(2) }));
        Assert.That(b.Bed.Msi.Messages.All(m => m.Requester == b.Bdf), Is.True);
        Assert.That(b.Function.IntxAsserted, Is.False);
        Assert.That(b.Bed.ConfigRead16(b.Bdf, PciConfig.Status) & (ushort)PciStatus.InterruptStatus, Is.Zero);
    }

    [Test]
    public void Isr_WithoutMsix_SetsIntxStatus_AndReadClears()
    {
        using var b = new EchoBench();
        var vqs = b.Start();
        b.Echo(vqs[0], [1, 2], 2);
        Assert.That(b.Bed.ConfigRead16(b.Bdf, PciConfig.Status) & (ushort)PciStatus.InterruptStatus, Is.Not.Zero);
        Assert.That(b.Function.IntxAsserted, Is.True);
        Assert.That(b.Driver.ReadIsr(), Is.EqualTo(VirtioPciIsr.Queue));
        Assert.That(b.Driver.ReadIsr(), Is.EqualTo(VirtioPciIsr.None));
        Assert.That(b.Bed.ConfigRead16(b.Bdf, PciConfig.Status) & (ushort)PciStatus.InterruptStatus, Is.Zero);
        Assert.That(b.Function.IntxAsserted, Is.False);

        b.Device.BumpVersion();
        Assert.That(b.Driver.ReadIsr(), Is.EqualTo(VirtioPciIsr.DeviceConfiguration));
        Assert.That(b.Bed.Msi.Count, Is.Zero);
    }

    [Test]
    public void ConfigGeneration_ChangesWhenDeviceConfigChanges()
    {
        using var b = new EchoBench();
        byte g0 = b.Driver.Read8(VirtioPciCommonCfg.config_generation);
        Assert.That(b.Driver.ReadConfig32(4), Is.EqualTo(1u));
        b.Device.BumpVersion();
        Assert.That(b.Driver.Read8(VirtioPciCommonCfg.config_generation), Is.Not.EqualTo(g0));
        Assert.That(b.Driver.ReadConfig32(4), Is.EqualTo(2u));
        Assert.That(b.Driver.ReadConfig64(0), Is.EqualTo(2UL << 32));
        // Before DRIVER_OK there is no configuration interrupt.
        Assert.That(b.Driver.ReadIsr(), Is.EqualTo(VirtioPciIsr.None));
    }

    [Test]
    public void DeviceConfig_ReadWriteInsideAndOutsideItsSize()
    {
        using var b = new EchoBench();
        b.Driver.WriteConfig32(0, 0xCAFEF00D);
        Assert.That(b.Driver.ReadConfig32(0), Is.EqualTo(0xCAFEF00Du));
        Assert.That(b.Driver.ReadConfig8(1), Is.EqualTo(0xF0));
        Assert.That(b.Bed.ReadQ(b.Driver.DeviceCfgBase + 4), Is.EqualTo(1UL)); // crosses the end: zero beyond
        long errors = b.GuestErrors;
        b.Driver.WriteConfig32(8, 1);
        b.Driver.WriteConfig32(6, 1);
        Assert.That(b.GuestErrors, Is.EqualTo(errors + 2));
        Assert.That(b.Driver.ReadConfig32(4), Is.EqualTo(1u));
    }

    [Test]
    public void NeedsReset_SetsStatusBitAndSendsConfigInterrupt()
    {
        using var b = new EchoBench();
        var vqs = b.Start(msix: true);
        b.Device.FailFatally("test");
        Assert.That(b.Driver.Status & VirtioDeviceStatus.DEVICE_NEEDS_RESET, Is.Not.EqualTo((VirtioDeviceStatus)0));
        Assert.That(b.Bed.Msi.CountVector(Data(2)), Is.EqualTo(1));

        // Writing the status back (with the bit) keeps it; notifications are ignored until reset.
        b.Driver.AddStatus(VirtioDeviceStatus.DRIVER_OK);
        vqs[0].Add([vqs[0].Readable([1]), vqs[0].Writable(1)]);
        vqs[0].Kick();
        Assert.That(vqs[0].TryGetUsed(out _), Is.False);
        b.Driver.Reset();
        Assert.That(b.Driver.Status, Is.EqualTo(VirtioDeviceStatus.Reset));
    }

    [Test]
    public void PciCfgCapability_ReadsAndWritesTheBar()
    {
        using var b = new EchoBench(queues: 3);
        var d = b.Driver;
        byte bar = (byte)VirtioPciLayout.Bar;
        Assert.That(d.PciCfgRead(bar, (uint)VirtioPciLayout.CommonCfgOffset + VirtioPciCommonCfg.num_queues, 2), Is.EqualTo(3u));
        Assert.That(d.PciCfgRead(bar, (uint)VirtioPciLayout.CommonCfgOffset + VirtioPciCommonCfg.device_feature, 4), Is.EqualTo(unchecked((uint)EchoDevice.DefaultFeatures)));

        d.PciCfgWrite(bar, (uint)VirtioPciLayout.CommonCfgOffset + VirtioPciCommonCfg.device_status, 1, (uint)VirtioDeviceStatus.ACKNOWLEDGE);
        Assert.That(d.Status, Is.EqualTo(VirtioDeviceStatus.ACKNOWLEDGE));
        d.PciCfgWrite(bar, (uint)VirtioPciLayout.DeviceCfgOffset, 4, 0x1234_5678);
        Assert.That(d.ReadConfig32(0), Is.EqualTo(0x1234_5678u));

        // Invalid windows are ignored: wrong BAR, bad length, misaligned, beyond the BAR.
        long errors = b.GuestErrors;
        d.PciCfgWrite(0, (uint)VirtioPciLayout.DeviceCfgOffset, 4, 1);
        d.PciCfgWrite(bar, (uint)VirtioPciLayout.DeviceCfgOffset, 3, 1);
        d.PciCfgWrite(bar, (uint)VirtioPciLayout.DeviceCfgOffset + 2, 4, 1);
        d.PciCfgWrite(bar, 0xFFFF_FFFC, 4, 1);
        Assert.That(d.ReadConfig32(0), Is.EqualTo(0x1234_5678u));
        Assert.That(b.GuestErrors, Is.EqualTo(errors + 4));
    }

    [Test]
    public void PciCfgCapability_IsrReadThroughWindowClearsIt()
    {
        using var b = new EchoBench();
        b.Start();
        b.Device.BumpVersion();
        Assert.That(b.Driver.PciCfgRead((byte)VirtioPciLayout.Bar, (uint)VirtioPciLayout.IsrOffset, 1), Is.EqualTo((uint)VirtioPciIsr.DeviceConfiguration));
        Assert.That(b.Function.PendingIsr, Is.EqualTo(VirtioPciIsr.None));
    }

    [TestCase(2)]
    [TestCase(5)]
    [TestCase(0xFFFF)]
    [TestCase(0x3FF)]
    public void Notify_ForQueueThatDoesNotExist_IsIgnored(int index)
    {
        using var b = new EchoBench(queues: 2);
        b.Start();
        long errors = b.GuestErrors;
        b.Bed.WriteW(b.Driver.NotifyBase + ((ulong)index * 4), (ushort)index);
        b.Bed.WriteL(b.Driver.NotifyBase + 0xFFC, 0xFFFF_FFFF);
        b.Bed.WriteB(b.Driver.NotifyBase + 0xFFD, 0);
        Assert.That(b.Device.NotifyCount, Is.Zero);
        Assert.That(b.GuestErrors, Is.GreaterThan(errors));
    }

    [Test]
    public void SystemReset_ResetsTransportAndDevice()
    {
        using var b = new EchoBench();
        b.Start();
        b.Device.Resets.Clear();
        b.Function.Reset(Core.ResetKind.System);
        Assert.That(b.Device.Resets, Is.EqualTo(new[] { Core.ResetKind.System }));
        Assert.That(b.Function.Status, Is.EqualTo(VirtioDeviceStatus.Reset));
    }
}
