using ManagedVmm.Core;
using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Testing.Nvme;

namespace ManagedVmm.Devices.Nvme.Tests;

public sealed class RegisterAndEnableTests
{
    [Test]
    public void PciIdentity_IsNvmeClassWith64BitBar0AndMsixInBar0()
    {
        using var rig = NvmeRig.Create();
        var bdf = rig.Driver.Bdf;
        Assert.That(rig.Bed.ConfigRead32(bdf, PciConfig.RevisionId) >> 8, Is.EqualTo(0x01_08_02u));
        Assert.That(rig.Bed.ConfigRead32(bdf, PciConfig.BarOffset(0)) & 0x7, Is.EqualTo(0x4u), "64-bit memory BAR");
        int msix = rig.Driver.FindCapability(PciCapabilityId.MsiX);
        uint table = rig.Bed.ConfigRead32(bdf, msix + 4);
        uint pba = rig.Bed.ConfigRead32(bdf, msix + 8);
        Assert.That(table & 7, Is.Zero, "table in BAR0");
        Assert.That(pba & 7, Is.Zero, "PBA in BAR0");
        Assert.That(table & ~7u, Is.EqualTo((uint)rig.Nvme.Bar0Layout.MsixTableOffset));
        Assert.That((rig.Bed.ConfigRead16(bdf, msix + 2) & 0x7FF) + 1, Is.EqualTo(65), "one vector per queue, as QEMU");
    }

    [Test]
    public void Cap_ReadAsHalvesOrWhole_ReportsQemuLikeLimits()
    {
        using var rig = NvmeRig.Create();
        ulong cap = rig.Driver.ReadCap();
        Assert.That(rig.Bed.ReadQ(rig.Driver.Bar0 + NvmeReg.Cap), Is.EqualTo(cap));
        Assert.That(cap & 0xFFFF, Is.EqualTo(0x7FFUL), "MQES");
        Assert.That((cap >> 52) & 0xF, Is.EqualTo(4UL), "MPSMAX");
        Assert.That((cap >> 48) & 0xF, Is.Zero, "MPSMIN");
        Assert.That(cap & Cap.Cqr, Is.Not.Zero, "CQR");
        Assert.That(cap & Cap.CssNvm, Is.Not.Zero, "CSS NVM");
        Assert.That((cap >> 32) & 0xF, Is.Zero, "DSTRD");
        Assert.That(rig.Driver.ReadReg32(NvmeReg.Vs), Is.EqualTo(0x0001_0400u));
    }

    [TestCase(NvmeReg.Cap)]
    [TestCase(NvmeReg.Cap + 4)]
    [TestCase(NvmeReg.Vs)]
    [TestCase(NvmeReg.Csts)]
    [TestCase(0x40)]
    public void WriteToReadOnlyOrReservedRegister_IsIgnoredAndLogged(int offset)
    {
        using var rig = NvmeRig.Create();
        uint before = rig.Driver.ReadReg32(offset);
        rig.Driver.WriteReg32(offset, 0xDEAD_BEEE);
        Assert.That(rig.Driver.ReadReg32(offset), Is.EqualTo(before));
        Assert.That(rig.Bed.GuestErrors.Count, Is.GreaterThan(0));
    }

    [Test]
    public void NarrowOrMisalignedRegisterWrite_IsIgnored_AndNarrowReadsSeeTheRegister()
    {
        using var rig = NvmeRig.Create();
        rig.Bed.WriteW(rig.Driver.Bar0 + NvmeReg.Aqa, 0x1F);
        rig.Bed.WriteL(rig.Driver.Bar0 + NvmeReg.Aqa + 1, 0x1F);
        Assert.That(rig.Driver.ReadReg32(NvmeReg.Aqa), Is.Zero);
        Assert.That(rig.Bed.ReadW(rig.Driver.Bar0 + NvmeReg.Cap), Is.EqualTo(0x7FF));
        Assert.That(rig.Bed.ReadB(rig.Driver.Bar0 + NvmeReg.Vs + 2), Is.EqualTo(1));
    }

    [Test]
    public void BringUp_InLinuxOrder_ReachesReadyAndCreatesIoQueues()
    {
        using var rig = NvmeRig.Create();
        int lba = rig.Driver.BringUp(ioQueues: 4, ioDepth: 128);
        Assert.That(lba, Is.EqualTo(512));
        var s = rig.Nvme.Snapshot();
        Assert.That(s.Registers.Csts.Rdy, Is.True);
        Assert.That(s.Registers.Cc.Iosqes, Is.EqualTo(6));
        Assert.That(s.Registers.AdminSqEntries, Is.EqualTo(32));
        Assert.That(s.SubmissionQueues.Select(q => q.Id), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        Assert.That(s.CompletionQueues.Where(q => q.Id > 0).Select(q => q.Vector), Is.EqualTo(new[] { 1, 2, 3, 4 }));
        Assert.That(s.CompletionQueues.Single(q => q.Id == 4).Size, Is.EqualTo(128));
    }

    private static IEnumerable<TestCaseData> BadEnableConfigurations()
    {
        yield return new TestCaseData(0x1F001Fu, 0x10_0800UL, 0x20_0000UL, NvmeTestDriver.LinuxCc).SetName("MisalignedAsq_SetsCfs");
        yield return new TestCaseData(0x1F001Fu, 0x10_0000UL, 0x20_0010UL, NvmeTestDriver.LinuxCc).SetName("MisalignedAcq_SetsCfs");
        yield return new TestCaseData(0x1F0000u, 0x10_0000UL, 0x20_0000UL, NvmeTestDriver.LinuxCc).SetName("ZeroAsqs_SetsCfs");
        yield return new TestCaseData(0x00001Fu, 0x10_0000UL, 0x20_0000UL, NvmeTestDriver.LinuxCc).SetName("ZeroAcqs_SetsCfs");
        yield return new TestCaseData(0x1F001Fu, 0x10_0000UL, 0x20_0000UL, NvmeTestDriver.LinuxCc | (5u << Cc.MpsShift)).SetName("MpsAboveMpsMax_SetsCfs");
        yield return new TestCaseData(0x1F001Fu, 0x10_0000UL, 0x20_0000UL, NvmeTestDriver.LinuxCc | (6u << Cc.CssShift)).SetName("UnsupportedCss_SetsCfs");
        yield return new TestCaseData(0x1F001Fu, 0x10_0000UL, 0x20_0000UL, NvmeTestDriver.LinuxCc | (1u << Cc.AmsShift)).SetName("WeightedRoundRobin_SetsCfs");
        yield return new TestCaseData(0x1F001Fu, 0x10_1000UL, 0x20_0000UL, NvmeTestDriver.LinuxCc | (1u << Cc.MpsShift)).SetName("AsqNotAlignedTo8KiBPage_SetsCfs");
    }

    [TestCaseSource(nameof(BadEnableConfigurations))]
    public void Enable_WithBadAdminConfiguration_SetsCfsAndNeverRdy(uint aqa, ulong asq, ulong acq, uint cc)
    {
        using var rig = NvmeRig.Create();
        var d = rig.Driver;
        d.WriteReg32(NvmeReg.Aqa, aqa);
        d.WriteReg32(NvmeReg.Asq, (uint)asq);
        d.WriteReg32(NvmeReg.Acq, (uint)acq);
        d.WriteReg32(NvmeReg.Cc, cc);
        Assert.That(d.CstsValue & Csts.Cfs, Is.Not.Zero);
        Assert.That(d.CstsValue & Csts.Rdy, Is.Zero);

        // A controller reset clears CFS and a good configuration then works.
        d.Disable();
        Assert.That(d.CstsValue, Is.Zero);
        Assert.DoesNotThrow(() => d.EnableController());
    }

    [Test]
    public void CcChangeWhileEnabled_OnlyShnIsAccepted()
    {
        using var rig = NvmeRig.BroughtUp();
        uint cc = rig.Driver.CcValue;
        rig.Driver.WriteReg32(NvmeReg.Cc, cc & ~(0xFu << Cc.IosqesShift) | (3u << Cc.MpsShift));
        Assert.That(rig.Driver.CcValue, Is.EqualTo(cc));
        Assert.That(rig.Bed.GuestErrors.Contains("only SHN"), Is.True);
        Assert.That(rig.ReadBlocks(0, 1), Has.Length.EqualTo(512), "still works");
    }

    [Test]
    public void Shutdown_ReportsShstComplete_ThenDoorbellsAreIgnoredUntilReset()
    {
        using var rig = NvmeRig.BroughtUp();
        rig.WriteBlocks(0, NvmeRig.Pattern(512, 1));
        Assert.That(rig.Driver.Shutdown(), Is.True);
        Assert.That(rig.Driver.CstsValue & Csts.ShstMask, Is.EqualTo(Csts.ShstComplete));
        ulong buf = rig.Alloc(512);
        rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, buf, 0));
        Assert.That(rig.Nvme.Statistics.Commands(NvmeCommandKind.Read), Is.Zero);
        rig.Driver.Disable();
        rig.Driver.BringUp();
        Assert.That(rig.ReadBlocks(0, 1), Is.EqualTo(NvmeRig.Pattern(512, 1)));
    }

    [Test]
    public void Shutdown_WithCommandsInFlight_CompletesOnlyAfterTheyDrain()
    {
        using var rig = NvmeRig.BroughtUp(o => o.Latency = new NvmeLatencyOptions());
        ulong buf = rig.Alloc(512);
        ushort cid = rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, buf, 0));
        rig.Driver.WriteReg32(NvmeReg.Cc, rig.Driver.CcValue | (1u << Cc.ShnShift));
        Assert.That(rig.Driver.CstsValue & Csts.ShstMask, Is.EqualTo(Csts.ShstInProgress));
        rig.Bed.AdvanceClock(1_000_000);
        Assert.That(rig.Driver.CstsValue & Csts.ShstMask, Is.EqualTo(Csts.ShstComplete));
        Assert.That(rig.Driver.TryGetCompletion(1, cid, out var cqe), Is.True);
        Expect.Status(cqe, NvmeStatus.Success);
    }

    [Test]
    public void ResetDuringIo_DropsCommandsInFlight_WritesNothing_AndTheControllerComesBack()
    {
        using var rig = NvmeRig.BroughtUp(o => o.Latency = new NvmeLatencyOptions());
        ulong buf = rig.Alloc(4096);
        rig.Poke(buf, Enumerable.Repeat((byte)0xAA, 4096).ToArray());
        for (int i = 0; i < 8; i++)
        {
            rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, (ulong)i, 1, buf + ((ulong)i * 512), 0), ring: i == 7);
        }

        Assert.That(rig.Nvme.Statistics.Outstanding, Is.EqualTo(8));
        int msiBefore = rig.Bed.Msi.Count;
        Assert.That(rig.Driver.Disable(), Is.True);
        rig.Bed.AdvanceClock(10_000_000);
        Assert.That(rig.Nvme.Statistics.Outstanding, Is.Zero);
        Assert.That(rig.Peek(buf, 4096), Is.All.EqualTo(0xAA), "no data DMA after reset");
        Assert.That(rig.Bed.Msi.Count, Is.EqualTo(msiBefore));
        Assert.That(rig.Nvme.Snapshot().SubmissionQueues, Is.Empty);

        rig.Driver.BringUp();
        Assert.That(rig.ReadBlocks(0, 1), Has.Length.EqualTo(512));
    }

    [Test]
    public void SystemReset_ReturnsToPowerOnRegisters()
    {
        using var rig = NvmeRig.BroughtUp();
        rig.Nvme.Reset(ResetKind.System);
        var s = rig.Nvme.Snapshot();
        Assert.That(s.Registers.Cc.Raw, Is.Zero);
        Assert.That(s.Registers.Csts.Raw, Is.Zero);
        Assert.That(s.Registers.Asq, Is.Zero);
        Assert.That(s.SubmissionQueues, Is.Empty);
    }
}
