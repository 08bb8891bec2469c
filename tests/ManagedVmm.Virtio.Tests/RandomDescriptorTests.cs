using ManagedVmm.Core.Memory;
using ManagedVmm.Testing.Virtio;
using ManagedVmm.Virtio.Queues;
using ManagedVmm.Virtio.Spec;

namespace ManagedVmm.Virtio.Tests;

/// <summary>
/// Property tests with fixed seeds: random descriptor tables, indirect tables, ring entries and indices, fed
/// to the queue alone and through the transport. Nothing may throw, every pop call is bounded, and what a pop
/// returns must respect the bounds the queue promises.
/// </summary>
public sealed class RandomDescriptorTests
{
    private const ulong RamSize = 1 << 20;

    private sealed class RecordingOwner : IVirtqueueOwner
    {
        public int Errors { get; private set; }

        public int Broken { get; private set; }

        public int Signals { get; private set; }

        public void ReportGuestError(SplitVirtqueue queue, string message) => Errors++;

        public void OnQueueBroken(SplitVirtqueue queue, string reason) => Broken++;

        public void SignalUsedBuffers(SplitVirtqueue queue) => Signals++;
    }

    private static ulong RandomAddress(Random rng) => rng.Next(10) switch
    {
        0 => (ulong)rng.NextInt64(),
        1 => RamSize - (ulong)rng.Next(64),
        2 => ulong.MaxValue - (ulong)rng.Next(64),
        _ => (ulong)rng.Next((int)RamSize),
    };

    private static uint RandomLength(Random rng) => rng.Next(8) switch
    {
        0 => 0,
        1 => uint.MaxValue - (uint)rng.Next(16),
        2 => (uint)rng.Next(16) * 16,
        _ => (uint)rng.Next(512),
    };

    private static void WriteRandomDescriptor(GuestRam ram, ulong at, Random rng, int nextRange)
    {
        var flags = (VirtqDescFlags)(rng.Next(8) & (rng.Next(4) == 0 ? 7 : 3));
        ram.TryWriteUInt64(at, RandomAddress(rng));
        ram.TryWriteUInt32(at + 8, RandomLength(rng));
        ram.TryWriteUInt16(at + 12, (ushort)flags);
        ram.TryWriteUInt16(at + 14, (ushort)rng.Next(nextRange));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(42)]
    [TestCase(1234)]
    public void SplitVirtqueue_RandomTablesAndRings_NeverThrowAndStayBounded(int seed)
    {
        var rng = new Random(seed);
        using var ram = GuestRam.CreateFlat(RamSize);
        var owner = new RecordingOwner();
        var chain = new VirtqueueChain();
        var buffer = new byte[4096];
        for (int round = 0; round < 400; round++)
        {
            ushort size = (ushort)(1 << rng.Next(0, 7));
            var queue = new SplitVirtqueue(0, size, owner)
            {
                DescTable = 0x1000,
                AvailRing = 0x3000,
                UsedRing = 0x4000,
            };

            // Random rings: some descriptors point into the rings and tables themselves.
            for (int i = 0; i < size; i++)
            {
                WriteRandomDescriptor(ram, queue.DescTable + ((ulong)i * 16), rng, size + 2);
            }

            for (int t = 0; t < 4; t++)
            {
                ulong table = 0x8000 + ((ulong)t * 0x1000);
                for (int i = 0; i < 64; i++)
                {
                    WriteRandomDescriptor(ram, table + ((ulong)i * 16), rng, 66);
                }
            }

            for (int i = 0; i < size; i++)
            {
                ram.TryWriteUInt16(queue.AvailRing + 4 + ((ulong)i * 2), (ushort)rng.Next(size + 2));
            }

            ram.TryWriteUInt16(queue.AvailRing, (ushort)rng.Next(2));
            ram.TryWriteUInt16(queue.AvailRing + 2, rng.Next(6) == 0 ? (ushort)rng.Next(65536) : (ushort)rng.Next(size + 1));
            ulong features = (1UL << VirtioFeatures.VERSION_1) | (rng.Next(2) == 0 ? 1UL << VirtioFeatures.RING_INDIRECT_DESC : 0)
                | (rng.Next(2) == 0 ? 1UL << VirtioFeatures.RING_EVENT_IDX : 0);
            Assert.That(queue.Activate(ram, features), Is.True);

            int pops = 0;
            while (queue.TryPop(chain) == VirtqueuePopResult.Chain)
            {
                Assert.That(++pops, Is.LessThanOrEqualTo(size), "more chains than the ring can hold");
                Assert.That(chain.HeadIndex, Is.LessThan(size));
                Assert.That(chain.DescriptorCount, Is.LessThanOrEqualTo(2 * size));
                Assert.That(chain.ReadableCount + chain.WritableCount, Is.LessThanOrEqualTo(chain.DescriptorCount));
                chain.TryReadReadable(buffer, out int read);
                Assert.That(read, Is.LessThanOrEqualTo(buffer.Length));
                int n = (int)Math.Min((ulong)read, chain.WritableBytes);
                chain.TryWriteAt(0, buffer.AsSpan(0, n));
                Assert.That(chain.UsedLength, Is.LessThanOrEqualTo(chain.WritableBytes));
                queue.Complete(chain);
                queue.NotifyIfNeeded();
            }

            Assert.That((ushort)(queue.UsedIdx), Is.LessThanOrEqualTo(size), "used entries beyond what was available");
        }

        Assert.That(owner.Errors + owner.Broken, Is.GreaterThan(0), "the random input should have been hostile");
    }

    [TestCase(7)]
    [TestCase(99)]
    [TestCase(2024)]
    public void Transport_RandomDescriptorsThroughTheDriver_NeverThrow(int seed)
    {
        var rng = new Random(seed);
        using var b = new EchoBench(queues: 2, queueSize: 8);
        ulong features = EchoBench.BaseFeatures | (1UL << VirtioFeatures.RING_INDIRECT_DESC) | (1UL << VirtioFeatures.RING_EVENT_IDX);
        var vqs = b.Start(features, msix: true);
        int resets = 0;
        for (int round = 0; round < 300; round++)
        {
            var vq = vqs[rng.Next(2)];
            int count = rng.Next(1, 4);
            for (int c = 0; c < count; c++)
            {
                int head = rng.Next(vq.Size);
                int length = rng.Next(1, 5);
                for (int i = 0; i < length; i++)
                {
                    int index = (head + i) % vq.Size;
                    var flags = (VirtqDescFlags)rng.Next(8);
                    ulong address = rng.Next(4) == 0 ? RandomAddress(rng) : 0x300_0000 + (ulong)rng.Next(0x10000);
                    vq.WriteDescriptor(index, address, RandomLength(rng) % 4096, flags, (ushort)(rng.Next(5) == 0 ? rng.Next(65536) : (index + 1) % vq.Size));
                }

                if (rng.Next(10) == 0)
                {
                    vq.SetAvailIdx((ushort)rng.Next(65536));
                }
                else
                {
                    vq.Publish((ushort)(rng.Next(12) == 0 ? rng.Next(65536) : head));
                }
            }

            if (rng.Next(3) == 0)
            {
                b.Bed.WriteW(b.Driver.NotifyBase + (ulong)rng.Next(0x1000), (ushort)rng.Next(65536));
            }

            vq.Kick();
            while (vq.TryGetUsed(out _))
            {
            }

            if ((b.Driver.Status & VirtioDeviceStatus.DEVICE_NEEDS_RESET) != 0)
            {
                resets++;
                vqs = b.Start(features, msix: true);
            }
        }

        // The device survived: a clean round trip still works.
        vqs = b.Start(features, msix: true);
        Assert.That(b.Echo(vqs[0], [1, 2, 3], 3).Used.Length, Is.EqualTo(3));
        Assert.That(b.GuestErrors, Is.GreaterThan(0), "the random input should have been hostile");
        TestContext.Out.WriteLine($"seed {seed}: {resets} resets, {b.GuestErrors} guest errors");
    }
}
