using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Testing.Nvme;

namespace ManagedVmm.Devices.Nvme.Tests;

public sealed class LatencyTests
{
    private static NvmeRig Timed() => NvmeRig.BroughtUp(o => o.Latency = new NvmeLatencyOptions());

    [Test]
    public void Read_CompletesAfterItsModelledLatency_NotBefore()
    {
        using var rig = Timed();
        var l = rig.Nvme.Options.Latency;
        long expected = l.ReadNs + l.ControllerOverheadNs + l.TransferNsPer4KiB;
        ulong buf = rig.Alloc(4096);
        long t0 = rig.Bed.Scheduler.Now;
        ushort cid = rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 8, buf, 0));
        rig.Bed.AdvanceClock(expected - 1);
        Assert.That(rig.Driver.TryGetCompletion(1, cid, out _), Is.False);
        rig.Bed.AdvanceClock(1);
        Assert.That(rig.Driver.TryGetCompletion(1, cid, out var cqe), Is.True);
        Expect.Status(cqe, NvmeStatus.Success);
        Assert.That(rig.Bed.Scheduler.Now - t0, Is.EqualTo(expected));
        Assert.That(expected, Is.InRange(70_000, 100_000), "a QD1 NAND read, reference §11.1");
    }

    [Test]
    public void ReadsOnDifferentUnits_Overlap_ReadsOnOneUnit_Queue()
    {
        using var rig = Timed();
        var l = rig.Nvme.Options.Latency;
        ulong buf = rig.Alloc(3 * 4096);
        ushort a = rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 8, buf, 0), ring: false);
        ushort b = rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 8, 8, buf + 4096, 0), ring: false);
        ushort c = rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 64UL * 8, 8, buf + 8192, 0), ring: false); // unit 0 again
        rig.Driver.RingSq(1);
        long one = l.ReadNs + l.ControllerOverheadNs + l.TransferNsPer4KiB;
        rig.Bed.AdvanceClock(one);
        Assert.That(rig.Driver.TryGetCompletion(1, a, out _) && rig.Driver.TryGetCompletion(1, b, out _), Is.True, "parallel units");
        Assert.That(rig.Driver.TryGetCompletion(1, c, out _), Is.False, "same unit waits for the first");
        rig.Bed.AdvanceClock(l.ReadNs);
        Assert.That(rig.Driver.TryGetCompletion(1, c, out _), Is.True);
    }

    [Test]
    public void Qd32RandomReads_AreFasterThanQd1_InVirtualTime()
    {
        static long Run(int qd)
        {
            using var rig = Timed();
            ulong buf = rig.Alloc(qd * 4096);
            var rng = new Random(7);
            long t0 = rig.Bed.Scheduler.Now;
            int done = 0;
            var inFlight = new Dictionary<ushort, int>();
            for (int i = 0; i < qd; i++)
            {
                inFlight[rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, (ulong)rng.Next(4096) * 8, 8, buf + ((ulong)i * 4096), 0))] = i;
            }

            while (done < 256)
            {
                rig.Bed.AdvanceClock(1_000);
                foreach (var (cid, slot) in inFlight.ToList())
                {
                    if (rig.Driver.TryGetCompletion(1, cid, out _))
                    {
                        inFlight.Remove(cid);
                        done++;
                        inFlight[rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, (ulong)rng.Next(4096) * 8, 8, buf + ((ulong)slot * 4096), 0))] = slot;
                    }
                }
            }

            return rig.Bed.Scheduler.Now - t0;
        }

        long qd1 = Run(1);
        long qd32 = Run(32);
        Assert.That(qd1, Is.GreaterThan(256L * 70_000));
        Assert.That(qd32 * 8, Is.LessThan(qd1), "internal parallelism");
    }

    [Test]
    public void ZeroLatency_CompletesDuringTheDoorbellWrite()
    {
        using var rig = NvmeRig.BroughtUp();
        ulong buf = rig.Alloc(512);
        long t0 = rig.Bed.Scheduler.Now;
        rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(NvmOpcode.Read, 0, 1, buf, 0));
        Assert.That(rig.Driver.TryTakeCompletion(1, out _), Is.True);
        Assert.That(rig.Bed.Scheduler.Now, Is.EqualTo(t0));
    }

    [Test]
    public void SameWorkload_GivesTheSameVirtualTimes_RunAfterRun()
    {
        static List<long> Run()
        {
            using var rig = Timed();
            ulong buf = rig.Alloc(8 * 4096);
            var cids = new List<ushort>();
            for (int i = 0; i < 8; i++)
            {
                cids.Add(rig.Driver.Submit(1, NvmeTestDriver.ReadWriteCommand(i % 2 == 0 ? NvmOpcode.Read : NvmOpcode.Write, (ulong)(i * 24), 8, buf + ((ulong)i * 4096), 0)));
            }

            var times = new List<long>();
            while (cids.Count > 0)
            {
                rig.Bed.AdvanceClock(500);
                foreach (var cid in cids.ToList())
                {
                    if (rig.Driver.TryGetCompletion(1, cid, out _))
                    {
                        times.Add(rig.Bed.Scheduler.Now);
                        cids.Remove(cid);
                    }
                }
            }

            return times;
        }

        Assert.That(Run(), Is.EqualTo(Run()));
    }
}
