namespace ManagedVmm.Guest.Tests;

/// <summary>nvme-fio on the default machine: every variant, every workload, bad command lines, determinism.</summary>
public sealed class NvmeFioTests
{
    /// <summary>Small and verified: 128 I/Os over a 1 MiB region keeps each boot to a few seconds.</summary>
    private const string Small = "fio.ios=128 fio.verify=1 fio.size_mb=1";

    private const int StatusPass = 0;
    private const int StatusBadCommandLine = 2;

    /// <summary>
    /// The per-I/O counters that tell the variants apart (reference §6): strict pays two round trips per I/O (MAP
    /// sync + UNMAP sync), lazy about one (MAP sync; UNMAPs ride on the flush queue's rare flush), passthrough none.
    /// </summary>
    [TestCase("", 1.0, 1.0, 1.1, TestName = "Variant_default_lazy_percpu_PassesWithAboutOneKickPerIo")]
    [TestCase("iommu.fq=single", 1.0, 1.0, 1.1, TestName = "Variant_fq_single_PassesWithAboutOneKickPerIo")]
    [TestCase("nvme.poll=1", 1.0, 1.0, 1.1, TestName = "Variant_nvme_poll_PassesWithAboutOneKickPerIo")]
    [TestCase("iommu.strict=1", 1.0, 2.0, 2.0, TestName = "Variant_strict_PassesWithTwoKicksPerIo")]
    [TestCase("viommu.sync_map=0 iommu.strict=1", 1.0, 2.0, 2.0, TestName = "Variant_sync_map0_strict_PassesWithTwoKicksPerIo")]
    [TestCase("viommu.deferred_flush=0", 1.0, 2.0, 2.0, TestName = "Variant_deferred_flush0_ForcesStrictTwoKicksPerIo")]
    [TestCase("iommu.passthrough=1", 0.0, 0.0, 0.0, TestName = "Variant_passthrough_PassesWithNoRequestsAtAll")]
    public void Variant_PassesVerifiedWithItsPerIoCounters(string switches, double mapPerIo, double minKicks, double maxKicks)
    {
        var o = GuestRun.Boot("nvme-fio", $"{Small} {switches}");

        Assert.Multiple(() =>
        {
            Assert.That(o.GuestStatus, Is.EqualTo(StatusPass), o.Describe());
            Assert.That(o.Serial, Does.Contain("nvme-fio: PASS"));
            Assert.That(o.Serial, Does.Match(@"fio: verify: \d+ blocks checked, 0 mismatches"));
            Assert.That(o.Serial, Does.Contain("128 I/Os in"));
            Assert.That(o.PerIo("MAP"), Is.EqualTo(mapPerIo));
            Assert.That(o.PerIo("UNMAP"), Is.EqualTo(mapPerIo));
            Assert.That(o.PerIo("kicks"), Is.InRange(minKicks, maxKicks));
            Assert.That(o.PerIo("syncs"), Is.EqualTo(o.PerIo("kicks")), "every sync is one kick");
            Assert.That(o.Result.GuestErrors, Is.Zero);
        });
    }

    [TestCase("read")]
    [TestCase("write")]
    [TestCase("randread")]
    [TestCase("randwrite")]
    [TestCase("randrw")]
    public void Workload_PassesWithVerification(string rw)
    {
        var o = GuestRun.Boot("nvme-fio", $"{Small} fio.rw={rw}");

        Assert.Multiple(() =>
        {
            Assert.That(o.GuestStatus, Is.EqualTo(StatusPass), o.Describe());
            Assert.That(o.Serial, Does.Contain($"fio: {rw} bs=4096 iodepth=32: 128 I/Os in"));
            Assert.That(o.Serial, Does.Match(@"fio: verify: [1-9]\d* blocks checked, 0 mismatches"));
            Assert.That(o.Serial, Does.Contain("nvme-fio: PASS"));
        });
    }

    [TestCase("fio.bogus=1", "cmdline: unknown switch \"fio.bogus\"")]
    [TestCase("iommu.strict=2", "cmdline: iommu.strict=2: expected 0 or 1")]
    [TestCase("iommu.fq=lazy", "cmdline: iommu.fq=lazy: expected one of percpu single")]
    [TestCase("fio.bs=abc", "cmdline: fio.bs=abc: expected a number")]
    public void BadCommandLine_SaysWhatIsWrongAndExitsWithStatusTwo(string switches, string message)
    {
        var o = GuestRun.Boot("nvme-fio", switches);

        Assert.Multiple(() =>
        {
            Assert.That(o.GuestStatus, Is.EqualTo(StatusBadCommandLine), o.Describe());
            Assert.That(o.Serial, Does.Contain(message));
            Assert.That(o.Serial, Does.Contain("nvme-fio: bad command line; FAIL"));
            Assert.That(o.Serial, Does.Not.Contain("fio: verify"), "nothing runs after a bad command line");
        });
    }

    [Test]
    public void SameRunTwice_GivesByteIdenticalSerialOutputAndVirtualTime()
    {
        const string cmdline = "fio.ios=128 fio.verify=1 fio.size_mb=1 fio.rw=randrw";
        var first = GuestRun.Boot("nvme-fio", cmdline);
        var second = GuestRun.Boot("nvme-fio", cmdline);

        Assert.Multiple(() =>
        {
            Assert.That(first.GuestStatus, Is.EqualTo(StatusPass), first.Describe());
            Assert.That(first.Serial, Does.Contain("IOPS"), "the virtual-time figures are part of what is compared");
            Assert.That(second.Serial, Is.EqualTo(first.Serial));
            Assert.That(second.Result.VirtualTimeNs, Is.EqualTo(first.Result.VirtualTimeNs));
            Assert.That(second.Result.InstructionsRetired, Is.EqualTo(first.Result.InstructionsRetired));
        });
    }
}
