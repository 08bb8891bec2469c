using ManagedVmm.Testing.Virtio;
using ManagedVmm.Virtio.Spec;
using ManagedVmm.Virtio.Transport;

namespace ManagedVmm.Virtio.Tests;

/// <summary>
/// Hostile rings. A malformed chain is returned with used length 0 and the queue carries on; a broken ring sets
/// DEVICE_NEEDS_RESET with a configuration interrupt and the device stops using the queue.
/// </summary>
public sealed class MalformedRingTests
{
    private const ulong Indirect = EchoBench.BaseFeatures | (1UL << VirtioFeatures.RING_INDIRECT_DESC);
    private const ulong OutsideRam = 0x2_0000_0000;

    /// <summary>Forges a chain in the queue's table (a head at descriptor 0), publishes and kicks it.</summary>
    public delegate void Forge(VirtqueueDriver vq, DriverBuffer readable, DriverBuffer writable);

    private static IEnumerable<TestCaseData> MalformedChains()
    {
        yield return Case("SelfLoop", (vq, r, w) => vq.WriteDescriptor(0, r.Address, r.Length, VirtqDescFlags.NEXT, 0));
        yield return Case("TwoDescriptorLoop", (vq, r, w) =>
        {
            vq.WriteDescriptor(0, r.Address, r.Length, VirtqDescFlags.NEXT, 1);
            vq.WriteDescriptor(1, w.Address, w.Length, VirtqDescFlags.NEXT | VirtqDescFlags.WRITE, 0);
        });
        yield return Case("ChainLongerThanQueue", (vq, r, w) =>
        {
            for (int i = 0; i < vq.Size; i++)
            {
                vq.WriteDescriptor(i, r.Address, 1, VirtqDescFlags.NEXT, (ushort)((i + 1) % vq.Size));
            }
        });
        yield return Case("NextOutOfRange", (vq, r, w) => vq.WriteDescriptor(0, r.Address, r.Length, VirtqDescFlags.NEXT, 16));
        yield return Case("NextFar", (vq, r, w) => vq.WriteDescriptor(0, r.Address, r.Length, VirtqDescFlags.NEXT, 0xFFFF));
        yield return Case("ReadableAfterWritable", (vq, r, w) =>
        {
            vq.WriteDescriptor(0, w.Address, w.Length, VirtqDescFlags.NEXT | VirtqDescFlags.WRITE, 1);
            vq.WriteDescriptor(1, r.Address, r.Length, 0, 0);
        });
        yield return Case("IndirectInIndirect", (vq, r, w) =>
        {
            ulong inner = vq.AllocTable(1);
            vq.WriteDescriptorAt(inner, 0, r.Address, r.Length, 0, 0);
            ulong outer = vq.AllocTable(1);
            vq.WriteDescriptorAt(outer, 0, inner, 16, VirtqDescFlags.INDIRECT, 0);
            vq.WriteDescriptor(0, outer, 16, VirtqDescFlags.INDIRECT, 0);
        });
        yield return Case("IndirectWithNext", (vq, r, w) =>
        {
            ulong t = vq.AllocTable(1);
            vq.WriteDescriptorAt(t, 0, r.Address, r.Length, 0, 0);
            vq.WriteDescriptor(0, t, 16, VirtqDescFlags.INDIRECT | VirtqDescFlags.NEXT, 1);
            vq.WriteDescriptor(1, w.Address, w.Length, VirtqDescFlags.WRITE, 0);
        });
        yield return Case("IndirectLengthNotMultipleOf16", (vq, r, w) =>
        {
            ulong t = vq.AllocTable(2);
            vq.WriteDescriptorAt(t, 0, r.Address, r.Length, 0, 0);
            vq.WriteDescriptor(0, t, 24, VirtqDescFlags.INDIRECT, 0);
        });
        yield return Case("IndirectLengthZero", (vq, r, w) => vq.WriteDescriptor(0, vq.AllocTable(1), 0, VirtqDescFlags.INDIRECT, 0));
        yield return Case("IndirectTableLargerThanQueue", (vq, r, w) =>
        {
            ulong t = vq.AllocTable(32);
            vq.WriteDescriptorAt(t, 0, r.Address, r.Length, 0, 0);
            vq.WriteDescriptor(0, t, 32 * 16, VirtqDescFlags.INDIRECT, 0);
        });
        yield return Case("IndirectLoop", (vq, r, w) =>
        {
            ulong t = vq.AllocTable(2);
            vq.WriteDescriptorAt(t, 0, r.Address, r.Length, VirtqDescFlags.NEXT, 1);
            vq.WriteDescriptorAt(t, 1, r.Address, r.Length, VirtqDescFlags.NEXT, 0);
            vq.WriteDescriptor(0, t, 32, VirtqDescFlags.INDIRECT, 0);
        });
        yield return Case("IndirectNextOutOfTable", (vq, r, w) =>
        {
            ulong t = vq.AllocTable(2);
            vq.WriteDescriptorAt(t, 0, r.Address, r.Length, VirtqDescFlags.NEXT, 2);
            vq.WriteDescriptor(0, t, 32, VirtqDescFlags.INDIRECT, 0);
        });
        yield return Case("IndirectTableOutsideRam", (vq, r, w) => vq.WriteDescriptor(0, OutsideRam, 32, VirtqDescFlags.INDIRECT, 0));
        yield return Case("ReadableBufferOutsideRam", (vq, r, w) =>
        {
            vq.WriteDescriptor(0, OutsideRam, 8, VirtqDescFlags.NEXT, 1);
            vq.WriteDescriptor(1, w.Address, w.Length, VirtqDescFlags.WRITE, 0);
        });
        yield return Case("WritableBufferOutsideRam", (vq, r, w) =>
        {
            vq.WriteDescriptor(0, r.Address, r.Length, VirtqDescFlags.NEXT, 1);
            vq.WriteDescriptor(1, OutsideRam, 8, VirtqDescFlags.WRITE, 0);
        });
        yield return Case("BufferStraddlingEndOfRam", (vq, r, w) =>
        {
            vq.WriteDescriptor(0, r.Address, r.Length, VirtqDescFlags.NEXT, 1);
            vq.WriteDescriptor(1, (64UL << 20) - 4, 8, VirtqDescFlags.WRITE, 0);
        });
        yield return Case("BufferWrappingAddressSpace", (vq, r, w) => vq.WriteDescriptor(0, ulong.MaxValue - 3, 8, 0, 0));

        static TestCaseData Case(string name, Forge forge) => new TestCaseData(forge).SetName($"MalformedChain_{name}_ReturnedWithUsedLengthZero");
    }

    [TestCaseSource(nameof(MalformedChains))]
    public void MalformedChain_IsReturnedWithUsedLengthZero_AndQueueCarriesOn(Forge forge)
    {
        using var b = new EchoBench();
        var vq = b.Start(Indirect)[0];
        var r = vq.Readable([1, 2, 3, 4, 5, 6, 7, 8]);
        var w = vq.Writable(8);
        forge(vq, r, w);
        vq.Publish(0);
        long errors = b.GuestErrors;
        vq.Kick();

        Assert.That(vq.GetUsed(), Is.EqualTo(new UsedElement(0, 0)));
        Assert.That(b.GuestErrors, Is.GreaterThan(errors));
        Assert.That(b.Driver.Status & VirtioDeviceStatus.DEVICE_NEEDS_RESET, Is.EqualTo((VirtioDeviceStatus)0));
        Assert.That(vq.WritableBytes([w]), Is.All.Zero.Or.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }).Or.Empty);

        // The queue still works: a good chain after the bad one (descriptors 8 and 9, untouched by the forgers).
        var r2 = vq.Readable([9]);
        var w2 = vq.Writable(1);
        vq.WriteDescriptor(8, r2.Address, 1, VirtqDescFlags.NEXT, 9);
        vq.WriteDescriptor(9, w2.Address, 1, VirtqDescFlags.WRITE, 0);
        vq.Publish(8);
        vq.Kick();
        Assert.That(vq.GetUsed(), Is.EqualTo(new UsedElement(8, 1)));
    }

    [Test]
    public void IndirectDescriptor_WithoutNegotiatedFeature_IsMalformed()
    {
        using var b = new EchoBench();
        var vq = b.Start(EchoBench.BaseFeatures)[0];
        vq.Add([vq.Readable([1]), vq.Writable(1)], indirect: true);
        vq.Kick();
        Assert.That(vq.GetUsed().Length, Is.Zero);
        Assert.That(b.Function.Queues[0].MalformedChains, Is.EqualTo(1));
    }

    private void AssertBroken(EchoBench b, VirtqueueDriver vq)
    {
        Assert.That(b.Driver.Status & VirtioDeviceStatus.DEVICE_NEEDS_RESET, Is.Not.EqualTo((VirtioDeviceStatus)0));
        Assert.That(b.Bed.Msi.CountVector(VirtioPciDriver.MsixData(b.Device.QueueCount)), Is.EqualTo(1), "config interrupt");

        // Nothing more is consumed until the driver resets the device.
        int before = b.Device.ChainsEchoed;
        vq.Add([vq.Readable([1]), vq.Writable(1)]);
        vq.Kick();
        Assert.That(b.Device.ChainsEchoed, Is.EqualTo(before));

        var fresh = b.Start(msix: true);
        Assert.That(b.Echo(fresh[0], [1], 1).Used.Length, Is.EqualTo(1), "usable again after reset");
    }

    [TestCase((ushort)17)]
    [TestCase((ushort)0x8000)]
    [TestCase((ushort)0xFFFF)]
    public void AvailIdx_JumpingMoreThanQueueSizeAhead_BreaksTheRing(ushort idx)
    {
        using var b = new EchoBench();
        var vq = b.Start(msix: true)[0];
        vq.SetAvailIdx(idx);
        vq.Kick();
        Assert.That(vq.DeviceUsedIdx, Is.Zero);
        AssertBroken(b, vq);
    }

    [Test]
    public void AvailIdx_ExactlyQueueSizeAhead_IsAccepted()
    {
        using var b = new EchoBench();
        var vq = b.Start(msix: true)[0];
        var r = vq.Readable([1]);
        var w = vq.Writable(1);
        vq.WriteDescriptor(0, r.Address, 1, VirtqDescFlags.NEXT, 1);
        vq.WriteDescriptor(1, w.Address, 1, VirtqDescFlags.WRITE, 0);
        for (int i = 0; i < 16; i++)
        {
            vq.SetAvailEntry(i, 0);
        }

        vq.SetAvailIdx(16);
        vq.Kick();
        Assert.That(vq.DeviceUsedIdx, Is.EqualTo(16));
        Assert.That(b.Driver.Status & VirtioDeviceStatus.DEVICE_NEEDS_RESET, Is.EqualTo((VirtioDeviceStatus)0));
    }

    [Test]
    public void AvailRing_HeadOutOfRange_BreaksTheRing()
    {
        using var b = new EchoBench();
        var vq = b.Start(msix: true)[0];
        vq.Publish(16);
        vq.Kick();
        AssertBroken(b, vq);
    }

    private static IEnumerable<TestCaseData> BadRingAddresses()
    {
        yield return new TestCaseData(VirtioPciCommonCfg.queue_desc, OutsideRam).SetName("RingLayout_DescTableOutsideRam_NeedsReset");
        yield return new TestCaseData(VirtioPciCommonCfg.queue_driver, OutsideRam).SetName("RingLayout_AvailRingOutsideRam_NeedsReset");
        yield return new TestCaseData(VirtioPciCommonCfg.queue_device, OutsideRam).SetName("RingLayout_UsedRingOutsideRam_NeedsReset");
        yield return new TestCaseData(VirtioPciCommonCfg.queue_device, (64UL << 20) - 16).SetName("RingLayout_UsedRingStraddlingEndOfRam_NeedsReset");
        yield return new TestCaseData(VirtioPciCommonCfg.queue_desc, 0x10_0008UL).SetName("RingLayout_DescTableMisaligned_NeedsReset");
        yield return new TestCaseData(VirtioPciCommonCfg.queue_device, 0x10_0002UL).SetName("RingLayout_UsedRingMisaligned_NeedsReset");
        yield return new TestCaseData(VirtioPciCommonCfg.queue_driver, 0x10_0001UL).SetName("RingLayout_AvailRingMisaligned_NeedsReset");
        yield return new TestCaseData(VirtioPciCommonCfg.queue_desc, ulong.MaxValue - 0xF).SetName("RingLayout_DescTableWrappingAddressSpace_NeedsReset");
    }

    [TestCaseSource(nameof(BadRingAddresses))]
    public void RingLayout_Unusable_SetsNeedsResetAtDriverOk(int field, ulong address)
    {
        using var b = new EchoBench();
        Assert.That(b.Driver.Negotiate(EchoBench.BaseFeatures), Is.True);
        b.Driver.EnableMsix(3);
        b.Driver.Write16(VirtioPciCommonCfg.config_msix_vector, 2);
        var vq = b.Driver.SetupQueue(0, vector: 0);
        b.Driver.Write16(VirtioPciCommonCfg.queue_select, 1);
        b.Driver.WriteQueueAddress(field, address);
        b.Driver.Write16(VirtioPciCommonCfg.queue_enable, 1);
        b.Driver.DriverOk();
        Assert.That(b.Function.Queues[1].IsBroken, Is.True);
        Assert.That(b.Function.Queues[0].IsReady, Is.True);
        b.Driver.Notify(1, 1);
        Assert.That(b.Device.NotifyCount, Is.Zero);
        AssertBroken(b, vq);
    }

    [Test]
    public void BusMasteringOff_RingUnreachable_NeedsResetInsteadOfThrowing()
    {
        using var b = new EchoBench();
        var vq = b.Start(msix: true)[0];
        vq.Add([vq.Readable([1]), vq.Writable(1)]);
        ushort command = b.Bed.ConfigRead16(b.Bdf, Pci.Spec.PciConfig.Command);
        b.Bed.ConfigWrite16(b.Bdf, Pci.Spec.PciConfig.Command, (ushort)(command & ~(ushort)Pci.Spec.PciCommand.BusMaster));
        vq.Kick();
        Assert.That(b.Driver.Status & VirtioDeviceStatus.DEVICE_NEEDS_RESET, Is.Not.EqualTo((VirtioDeviceStatus)0));
        Assert.That(vq.DeviceUsedIdx, Is.Zero);
    }
}
