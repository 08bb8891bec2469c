using ManagedVmm.Core.Memory;
using ManagedVmm.Testing;
using ManagedVmm.Testing.Virtio;
using ManagedVmm.Virtio.Queues;
using ManagedVmm.Virtio.Spec;

namespace ManagedVmm.Virtio.Tests;

/// <summary>The chain reader and writer on a queue driven directly (no transport).</summary>
public sealed class ChainReaderWriterTests
{
    private sealed class NullOwner : IVirtqueueOwner
    {
        public List<string> Errors { get; } = [];

        public void ReportGuestError(SplitVirtqueue queue, string message) => Errors.Add(message);

        public void OnQueueBroken(SplitVirtqueue queue, string reason) => Errors.Add("broken: " + reason);

        public void SignalUsedBuffers(SplitVirtqueue queue)
        {
        }
    }

    private static (SplitVirtqueue Queue, VirtqueueDriver Driver, GuestRam Ram, NullOwner Owner) Make()
    {
        var ram = GuestRam.CreateFlat(4 << 20);
        var alloc = new GuestBufferAllocator(ram);
        var driver = new VirtqueueDriver(ram, alloc, 0, 8, _ => { });
        var owner = new NullOwner();
        var queue = new SplitVirtqueue(0, 8, owner) { DescTable = driver.DescTable, AvailRing = driver.AvailRing, UsedRing = driver.UsedRing };
        Assert.That(queue.Activate(ram, 1UL << VirtioFeatures.VERSION_1), Is.True);
        return (queue, driver, ram, owner);
    }

    [Test]
    public void Writer_TailAtEndOfSplitWritablePart_LandsAcrossBuffers_AndUsedLengthIsHighWaterMark()
    {
        var (queue, driver, ram, _) = Make();
        using var _ram = ram;
        DriverBuffer[] chain = [driver.Readable([1]), driver.Writable(3), driver.Writable(3)];
        driver.Add(chain);
        Assert.That(queue.TryPop(out var c), Is.True);
        Assert.That(c.WritableBytes, Is.EqualTo(6));
        Assert.That(c.TryWriteAt(2, [0xA, 0xB, 0xC, 0xD]), Is.True);
        Assert.That(c.BytesWritten, Is.EqualTo(6));
        Assert.That(driver.WritableBytes(chain), Is.EqualTo(new byte[] { 0, 0, 0xA, 0xB, 0xC, 0xD }));
        Assert.That(c.TryWriteAt(0, [1]), Is.True);
        Assert.That(c.BytesWritten, Is.EqualTo(6), "a lower write does not shrink the used length");
        queue.Complete(c);
        Assert.That(driver.GetUsed().Length, Is.EqualTo(6));
    }

    [Test]
    public void Writer_BeyondWritablePart_WritesNothing()
    {
        var (queue, driver, ram, _) = Make();
        using var _ram = ram;
        DriverBuffer[] chain = [driver.Writable(2), driver.Writable(2)];
        driver.Add(chain);
        Assert.That(queue.TryPop(out var c), Is.True);
        Assert.That(c.TryWriteAt(1, [1, 2, 3, 4]), Is.False);
        Assert.That(c.TryWriteAt(5, []), Is.False);
        Assert.That(c.TryAppend([9, 9, 9, 9]), Is.True);
        Assert.That(c.TryAppend([9]), Is.False);
        Assert.That(c.Faulted, Is.False);
        Assert.That(c.UsedLength, Is.EqualTo(4u));
        Assert.That(c.TryZeroAt(1, 2), Is.True);
        Assert.That(driver.WritableBytes(chain), Is.EqualTo(new byte[] { 9, 0, 0, 9 }));
    }

    [Test]
    public void Reader_CopiesReadableBytesOnce_IntoABoundedBuffer()
    {
        var (queue, driver, ram, _) = Make();
        using var _ram = ram;
        driver.Add([driver.Readable([1, 2]), driver.Readable([3, 4, 5]), driver.Writable(1)]);
        Assert.That(queue.TryPop(out var c), Is.True);
        Assert.That(c.ReadableBytes, Is.EqualTo(5));
        var small = new byte[3];
        Assert.That(c.TryReadReadable(small, out int n), Is.True);
        Assert.That(n, Is.EqualTo(3));
        Assert.That(small, Is.EqualTo(new byte[] { 1, 2, 3 }));
        var big = new byte[16];
        Assert.That(c.TryReadReadable(big, out n), Is.True);
        Assert.That(big.AsSpan(0, n).ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4, 5 }));
    }

    [Test]
    public void Reader_BufferOutsideMemory_FaultsChain_AndCompletesWithUsedLengthZero()
    {
        var (queue, driver, ram, owner) = Make();
        using var _ram = ram;
        driver.WriteDescriptor(0, 0x1_0000_0000, 4, VirtqDescFlags.NEXT, 1);
        var w = driver.Writable(4);
        driver.WriteDescriptor(1, w.Address, 4, VirtqDescFlags.WRITE, 0);
        driver.Publish(0);
        Assert.That(queue.TryPop(out var c), Is.True);
        Assert.That(c.TryReadReadable(new byte[4], out _), Is.False);
        Assert.That(c.Faulted, Is.True);
        Assert.That(c.TryWriteAt(0, [1, 2]), Is.True);
        queue.Complete(c);
        Assert.That(driver.GetUsed(), Is.EqualTo(new UsedElement(0, 0)));
        Assert.That(queue.FaultedChains, Is.EqualTo(1));
        Assert.That(owner.Errors, Has.Count.EqualTo(1));
    }

    [Test]
    public void Pop_BeforeActivation_IsNotReady_AndAfterReset_IsNotReady()
    {
        var owner = new NullOwner();
        var queue = new SplitVirtqueue(0, 8, owner);
        Assert.That(queue.TryPop(new VirtqueueChain()), Is.EqualTo(VirtqueuePopResult.NotReady));
        var (q2, _, ram, _) = Make();
        using var _ram = ram;
        Assert.That(q2.TryPop(new VirtqueueChain()), Is.EqualTo(VirtqueuePopResult.Empty));
        q2.Reset();
        Assert.That(q2.TryPop(new VirtqueueChain()), Is.EqualTo(VirtqueuePopResult.NotReady));
        Assert.That(q2.Size, Is.EqualTo(8));
    }
}
