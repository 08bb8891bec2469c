using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Virtio;
using ManagedVmm.Virtio.Queues;
using ManagedVmm.Virtio.Spec;

namespace ManagedVmm.Virtio.Tests;

/// <summary>
/// A test device: every chain's readable bytes are copied, in order, into its writable buffers, and the chain
/// is returned with the number of bytes written. Feature bit 0 (F_ECHO_UPPER) upper-cases ASCII; bit 1
/// (F_ECHO_NEEDS_UPPER) depends on bit 0, so the device refuses it alone. Configuration: <c>le32 scratch</c>
/// (driver-writable) at 0 and <c>le32 version</c> (read-only) at 4.
/// </summary>
public sealed class EchoDevice : IVirtioDevice
{
    public const int F_ECHO_UPPER = 0;
    public const int F_ECHO_NEEDS_UPPER = 1;

    /// <summary>Largest request the device copies in; longer readable parts are truncated (a bounded buffer).</summary>
    public const int MaxRequest = 64 * 1024;

    public const ulong DefaultFeatures = (1UL << VirtioFeatures.VERSION_1) | (1UL << VirtioFeatures.RING_INDIRECT_DESC)
        | (1UL << VirtioFeatures.RING_EVENT_IDX) | (1UL << VirtioFeatures.ACCESS_PLATFORM)
        | (1UL << F_ECHO_UPPER) | (1UL << F_ECHO_NEEDS_UPPER);

    private readonly byte[] _buffer = new byte[MaxRequest];
    private readonly ushort _queueSize;
    private IVirtioDeviceHost? _host;
    private uint _scratch;
    private uint _version = 1;

    public EchoDevice()
        : this(2, 16)
    {
    }

    public EchoDevice(int queues, ushort queueSize, ulong features = DefaultFeatures)
    {
        QueueCount = queues;
        _queueSize = queueSize;
        OfferedFeatures = features;
    }

    public ushort DeviceId => 63;

    public string Name => "virtio-echo";

    public uint PciClassCode => 0xFF0000;

    public int QueueCount { get; }

    public ulong OfferedFeatures { get; }

    public int ConfigSize => 8;

    public VirtioActivation? Activation { get; private set; }

    public int Activations { get; private set; }

    public List<ResetKind> Resets { get; } = [];

    public int ChainsEchoed { get; private set; }

    /// <summary>When false, QueueNotify only counts (to test notifications that arrive without processing).</summary>
    public bool Process { get; set; } = true;

    public int NotifyCount { get; private set; }

    public ushort MaxQueueSize(int queueIndex) => _queueSize;

    public string? CheckFeatures(ulong driverFeatures) =>
        VirtioFeatures.Has(driverFeatures, F_ECHO_NEEDS_UPPER) && !VirtioFeatures.Has(driverFeatures, F_ECHO_UPPER)
            ? "F_ECHO_NEEDS_UPPER needs F_ECHO_UPPER"
            : null;

    public void ReadConfig(int offset, Span<byte> data)
    {
        Span<byte> cfg = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(cfg, _scratch);
        BinaryPrimitives.WriteUInt32LittleEndian(cfg[4..], _version);
        cfg.Slice(offset, data.Length).CopyTo(data);
    }

    public void WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        if (offset == 0 && data.Length == 4)
        {
            _scratch = BinaryPrimitives.ReadUInt32LittleEndian(data);
        }
        else
        {
            _host?.ReportGuestError($"config write at {offset} width {data.Length} ignored");
        }
    }

    /// <summary>A host-side configuration change (bumps config_generation, config interrupt).</summary>
    public void BumpVersion()
    {
        _version++;
        _host!.ConfigChanged();
    }

    public void FailFatally(string reason) => _host!.NeedsReset(reason);

    public void Attach(IVirtioDeviceHost host) => _host = host;

    public void Activate(VirtioActivation activation)
    {
        Activation = activation;
        Activations++;
    }

    public void QueueNotify(int queueIndex)
    {
        NotifyCount++;
        if (!Process || Activation == null)
        {
            return;
        }

        var queue = Activation.Queues[queueIndex];
        bool upper = Activation.Has(F_ECHO_UPPER);
        while (queue.TryPop(out var chain))
        {
            if (chain.TryReadReadable(_buffer, out int read))
            {
                if (upper)
                {
                    for (int i = 0; i < read; i++)
                    {
                        if (_buffer[i] is >= (byte)'a' and <= (byte)'z')
                        {
                            _buffer[i] -= 32;
                        }
                    }
                }

                int n = (int)Math.Min((ulong)read, chain.WritableBytes);
                chain.TryWriteAt(0, _buffer.AsSpan(0, n));
            }

            queue.Complete(chain);
            ChainsEchoed++;
        }

        queue.NotifyIfNeeded();
    }

    public void Reset(ResetKind kind)
    {
        Resets.Add(kind);
        Activation = null;
        if (kind == ResetKind.System)
        {
            _scratch = 0;
        }
    }
}
