// ManagedVmm.Devices.VirtioIommu — the virtio-iommu on the virtio transport.
//
// Models: the queue side of the virtio IOMMU device (OASIS virtio v1.2 cs01 §5.13; v1.3/v1.4 define the same
// device): requestq (queue 0) — every available chain popped on each notification, its readable bytes copied in
// once (bounded by the largest request), the request executed by VirtioIommuRequestProcessor, the reply written at
// the start of the writable part and the chain returned with the exact used length (0 for an unknown type or a
// chain with no room for head or tail); and eventq (queue 1) — fault records (§5.13.6.7, 24 bytes) written into
// driver-provided buffers, one per buffer, used length 24, kept pending (bounded) while the driver has given no
// buffer and delivered as soon as it does, dropped and counted beyond the bound. Feature negotiation: the
// device-specific bits from the options plus VERSION_1, RING_INDIRECT_DESC and RING_EVENT_IDX (as QEMU offers).
// Status 0 is a device reset (bypass kept); a PCI system reset is a system reset (bypass back to the boot value).
//
// Leaves out: ACCESS_PLATFORM (the IOMMU's own DMA is never translated), falling back to an older, shorter fault
// format for buffers under 24 bytes (such a buffer is returned with used length 0 and the event waits for the
// next one), and everything the engine leaves out (see VirtioIommu.cs).
using ManagedVmm.Core;
using ManagedVmm.Core.Time;
using ManagedVmm.Devices.VirtioIommu.Spec;
using ManagedVmm.Virtio;
using ManagedVmm.Virtio.Queues;
using ManagedVmm.Virtio.Spec;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// The virtio-iommu as an <see cref="IVirtioDevice"/>: the glue between the virtio transport's queues and the
/// transport-free <see cref="VirtioIommu"/> engine. See the file header for what it models.
/// </summary>
public sealed class VirtioIommuDevice : IVirtioDevice
{
    /// <summary>PCI class code: base class 08h (generic system peripheral), sub-class 80h (other), interface 00h, as QEMU.</summary>
    public const uint ClassCode = 0x08_80_00;

    /// <summary>Transport feature bits offered besides the device-specific ones (QEMU offers the same three).</summary>
    public const ulong TransportFeatures =
        (1UL << VirtioFeatures.VERSION_1) | (1UL << VirtioFeatures.RING_INDIRECT_DESC) | (1UL << VirtioFeatures.RING_EVENT_IDX);

    private readonly VirtioIommu _iommu;
    private readonly byte[] _request = new byte[VirtioIommuRequestProcessor.MaxReadableBytes];
    private readonly byte[] _reply;
    private readonly byte[] _event = new byte[VirtioIommuFault.Size];
    private readonly VirtqueueChain _eventChain = new();
    private readonly VirtioIommuCostOptions _costs;
    private readonly DelayedUsedRing? _delayed;
    private IVirtioDeviceHost? _host;
    private VirtioActivation? _activation;
    private bool _delivering;

    public VirtioIommuDevice(VirtioIommu iommu)
        : this(iommu, null, null)
    {
    }

    /// <summary>
    /// A device whose requests cost virtual time on <paramref name="clock"/> (<see cref="VirtioIommuCostOptions"/>):
    /// the used element of each request becomes visible after its cost. Zero costs behave as the plain constructor.
    /// </summary>
    public VirtioIommuDevice(VirtioIommu iommu, EventScheduler? clock, IOptions<VirtioIommuCostOptions>? costs = null)
    {
        _iommu = iommu;
        _costs = costs?.Value ?? new VirtioIommuCostOptions();
        if (_costs.Validate() is string problem)
        {
            throw new ArgumentException(problem, nameof(costs));
        }

        _delayed = clock != null && !_costs.IsZero ? new DelayedUsedRing(clock) : null;
        _reply = new byte[iommu.Requests.ReplyCapacity];
        OfferedFeatures = (ulong)iommu.OfferedFeatures | TransportFeatures;
        iommu.Faults.FaultPending += DeliverFaults;
    }

    /// <summary>The engine this device carries.</summary>
    public VirtioIommu Iommu => _iommu;

    public ushort DeviceId => VirtioDeviceId.Iommu;

    public string Name => "virtio-iommu";

    public uint PciClassCode => ClassCode;

    public int QueueCount => VirtioIommuIds.QueueCount;

    public ulong OfferedFeatures { get; }

    public int ConfigSize => _iommu.Config.Size;

    /// <summary>True between DRIVER_OK and the next reset.</summary>
    public bool IsActive => _activation != null;

    /// <summary>eventq buffers returned with used length 0 because they could not hold a fault record.</summary>
    public long RejectedEventBuffers { get; private set; }

    public ushort MaxQueueSize(int queueIndex) => (ushort)_iommu.QueueSize;

    public string? CheckFeatures(ulong driverFeatures)
    {
        var device = (VirtioIommuFeatures)(driverFeatures & (ulong)VirtioIommuFeatures.AllKnown);
        if ((device & VirtioIommuFeatures.Bypass) != 0 && (device & VirtioIommuFeatures.BypassConfig) != 0)
        {
            // The two bypass mechanisms contradict each other (§5.13.3: not to be offered together).
            return "VIRTIO_IOMMU_F_BYPASS and VIRTIO_IOMMU_F_BYPASS_CONFIG together";
        }

        return _iommu.AcceptFeatures(device) ? null : $"device bits {device} were not offered";
    }

    public void ReadConfig(int offset, Span<byte> data) => _iommu.ReadConfig(offset, data);

    public void WriteConfig(int offset, ReadOnlySpan<byte> data) => _iommu.WriteConfig(offset, data);

    public void Attach(IVirtioDeviceHost host) => _host = host;

    public void Activate(VirtioActivation activation)
    {
        _activation = activation;

        // Faults raised between FEATURES_OK and DRIVER_OK, if eventq already holds buffers.
        DeliverFaults();
    }

    public void QueueNotify(int queueIndex)
    {
        switch (queueIndex)
        {
            case VirtioIommuIds.RequestQueue:
                ProcessRequests();
                break;
            case VirtioIommuIds.EventQueue:
                // New eventq buffers: deliver what is pending (with none pending they wait for the next fault).
                DeliverFaults();
                break;
        }
    }

    public void Reset(ResetKind kind)
    {
        _activation = null;
        _delayed?.Reset();
        _iommu.Reset(kind);
    }

    /// <summary>Pops every available requestq chain, executes it and returns it with the exact used length.</summary>
    private void ProcessRequests()
    {
        var activation = _activation;
        if (activation == null)
        {
            return;
        }

        var queue = activation.Queues[VirtioIommuIds.RequestQueue];
        var processor = _iommu.Requests;
        int chains = 0;

        // TryPop ends at the available index it read (at most the queue size ahead), so this loop is bounded.
        while (queue.TryPop(out var chain))
        {
            chains++;
            int readable = (int)Math.Min(chain.ReadableBytes, (ulong)_request.Length);
            long cost = _costs.OtherRequestNs;
            if (chain.TryReadReadable(_request.AsSpan(0, readable), out int read))
            {
                uint used = processor.Process(_request.AsSpan(0, read), chain.WritableBytes, _reply);
                if (used > 0)
                {
                    chain.TryWriteAt(0, _reply.AsSpan(0, (int)used));
                }

                cost = _delayed == null ? 0 : RequestCost(_request.AsSpan(0, read), _reply.AsSpan(0, (int)used));
            }

            if (chain.Faulted || _delayed == null || !_delayed.TryDefer(queue, chain.HeadIndex, chain.UsedLength, cost))
            {
                queue.Complete(chain);
            }
        }

        _iommu.Statistics.RecordKick(chains);
        queue.NotifyIfNeeded();
    }

    /// <summary>The modelled host cost of one executed request: its type, its status and the bytes of its range.</summary>
    private long RequestCost(ReadOnlySpan<byte> request, ReadOnlySpan<byte> reply)
    {
        if (request.Length < VirtioIommuReqHead.Size || reply.Length < VirtioIommuReqTail.Size)
        {
            return _costs.OtherRequestNs;
        }

        var type = (VirtioIommuRequestType)VirtioIommuReqHead.Read(request).Type;
        bool ok = reply[^VirtioIommuReqTail.Size] == (byte)VirtioIommuStatus.Ok;
        ulong bytes = type switch
        {
            VirtioIommuRequestType.Map when request.Length >= VirtioIommuReqMap.ReadableSize => RangeBytes(VirtioIommuReqMap.Read(request)),
            VirtioIommuRequestType.Unmap when request.Length >= VirtioIommuReqUnmap.ReadableSize => RangeBytes(VirtioIommuReqUnmap.Read(request)),
            _ => 0,
        };
        return _costs.CostOf(type, ok, bytes);
    }

    private static ulong RangeBytes(in VirtioIommuReqMap map) => RangeBytes(map.VirtStart, map.VirtEnd);

    private static ulong RangeBytes(in VirtioIommuReqUnmap unmap) => RangeBytes(unmap.VirtStart, unmap.VirtEnd);

    private static ulong RangeBytes(ulong start, ulong end) => end >= start ? end - start + 1 : 0;

    /// <summary>
    /// Writes pending faults into eventq buffers, one record per buffer, until either runs out. Faults without a
    /// buffer stay pending (the engine's queue is bounded and counts what it drops).
    /// </summary>
    private void DeliverFaults()
    {
        var activation = _activation;
        if (activation == null || _delivering || _iommu.Faults.Count == 0)
        {
            return;
        }

        var queue = activation.Queues[VirtioIommuIds.EventQueue];
        if (!queue.IsReady)
        {
            return;
        }

        _delivering = true;
        try
        {
            bool any = false;

            // Each pass consumes a buffer or ends: at most the queue size buffers are available at once.
            while (_iommu.Faults.TryPeek(out var fault) && queue.TryPop(_eventChain) == VirtqueuePopResult.Chain)
            {
                any = true;
                fault.Write(_event);
                if (_eventChain.WritableBytes < VirtioIommuFault.Size || !_eventChain.TryWriteAt(0, _event))
                {
                    // §5.13.6.7: the device does not split a report. A buffer that cannot hold one (too small, or
                    // outside the device's memory) goes back with used length 0 and the event waits for the next.
                    RejectedEventBuffers++;
                    _host?.ReportGuestError($"eventq buffer at head {_eventChain.HeadIndex} ({_eventChain.WritableBytes} writable bytes) cannot take a {VirtioIommuFault.Size}-byte fault record; returned with used length 0");
                    queue.Complete(_eventChain.HeadIndex, 0);
                    continue;
                }

                queue.Complete(_eventChain);
                _iommu.Faults.TryDequeue(out _);
            }

            if (any)
            {
                queue.NotifyIfNeeded();
            }
        }
        finally
        {
            _delivering = false;
        }
    }
}
