// virtio-pci modern transport (virtio 1.2 §4.1, non-transitional): a PCI function carrying one IVirtioDevice.
// Models: PCI identity (vendor 0x1AF4, device 0x1040 + id, revision 1), the vendor-specific capabilities
// (COMMON_CFG, NOTIFY_CFG with notify_off_multiplier, ISR_CFG, DEVICE_CFG, PCI_CFG with a working
// pci_cfg_data window), one 64-bit memory BAR composed with MmioRegionRouter, MSI-X table and PBA in that BAR,
// the device-status handshake (reset on 0, FEATURES_OK refused for invalid feature sets, queues used only after
// DRIVER_OK, DEVICE_NEEDS_RESET plus a configuration interrupt on fatal errors), 32-bit feature windows, queue
// selection with out-of-range selects reading queue_size 0, 64-bit queue addresses as 32-bit halves, per-queue
// and configuration MSI-X vectors with NO_VECTOR, config_generation, and the ISR with the INTx status bit when
// MSI-X is off.
// Leaves out: the legacy (transitional) interface and I/O BAR, the packed ring, NOTIFICATION_DATA,
// NOTIF_CONFIG_DATA (queue_notify_data), RING_RESET (queue_reset), admin queues, SR-IOV, shared memory regions,
// and wiring INTx to an interrupt controller (the level is exposed as IntxAsserted; the platform is MSI-only).
using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Memory;
using ManagedVmm.Pci;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Virtio.Queues;
using ManagedVmm.Virtio.Spec;

namespace ManagedVmm.Virtio.Transport;

/// <summary>
/// The virtio-pci modern transport: a <see cref="PciFunction"/> that presents one <see cref="IVirtioDevice"/>
/// to the driver (virtio 1.2 §4.1). See the file header for what it models and leaves out.
/// <para>
/// Common configuration decodes reads at any offset and width (bytes are composed from the fields; reads have
/// no side effects). A write must match one field exactly — its offset and natural width, or a 32-bit half of
/// a 64-bit field — and is otherwise ignored and logged as a guest error.
/// </para>
/// </summary>
public class VirtioPciFunction : PciFunction
{
    private readonly IVirtioDevice _device;
    private readonly SplitVirtqueue[] _queues;
    private readonly ushort[] _queueVectors;
    private readonly ulong _offered;
    private readonly Host _host;
    private readonly int _pciCfgCap;
    private byte _status;
    private uint _deviceFeatureSelect;
    private uint _driverFeatureSelect;
    private ulong _driverFeatures;
    private ushort _configVector = VirtioPciMsix.NO_VECTOR;
    private ushort _queueSelect;
    private byte _isr;
    private VirtioActivation? _activation;

    public VirtioPciFunction(IVirtioDevice device, VirtioPciOptions? options = null)
        : base(device.Name, IdentityOf(device))
    {
        options ??= new VirtioPciOptions();
        _device = device;
        _offered = device.OfferedFeatures;
        CheckDevice(device, _offered);
        _host = new Host(this);
        PreferredDevice = options.PreferredDevice;

        _queues = new SplitVirtqueue[device.QueueCount];
        _queueVectors = new ushort[device.QueueCount];
        for (int q = 0; q < _queues.Length; q++)
        {
            _queues[q] = new SplitVirtqueue(q, device.MaxQueueSize(q), _host);
            _queueVectors[q] = VirtioPciMsix.NO_VECTOR;
        }

        // One 64-bit BAR: common | ISR | device config | notify | MSI-X table | PBA, each page-aligned.
        int vectors = options.MsixVectors ?? (_queues.Length + 1);
        ulong notifyLength = (ulong)Math.Max(_queues.Length, 1) * VirtioPciLayout.NotifyOffMultiplier;
        ulong tableLength = VirtioPciLayout.PageAlign((ulong)vectors * 16);
        ulong pbaOffset = VirtioPciLayout.MsixTableOffset + tableLength;
        ulong pbaLength = VirtioPciLayout.PageAlign((ulong)((vectors + 63) / 64 * 8));
        ulong barSize = System.Numerics.BitOperations.RoundUpToPowerOf2(pbaOffset + pbaLength);

        var router = new MmioRegionRouter();
        AddMemoryBar(VirtioPciLayout.Bar, barSize, router, is64Bit: true);
        var msix = AddMsix(vectors, VirtioPciLayout.Bar, (uint)VirtioPciLayout.MsixTableOffset, VirtioPciLayout.Bar, (uint)pbaOffset);
        router.Map(VirtioPciLayout.CommonCfgOffset, 0x1000, new CommonCfgWindow(this), "virtio-common")
            .Map(VirtioPciLayout.IsrOffset, 0x1000, new IsrWindow(this), "virtio-isr")
            .Map(VirtioPciLayout.DeviceCfgOffset, 0x1000, new DeviceCfgWindow(this), "virtio-device-cfg")
            .Map(VirtioPciLayout.NotifyOffset, 0x1000, new NotifyWindow(this), "virtio-notify")
            .Map(VirtioPciLayout.MsixTableOffset, msix.TableSize, msix.Table, "msix-table")
            .Map(pbaOffset, msix.PbaSize, msix.PendingBits, "msix-pba");
        Router = router;

        AddVirtioCap(VirtioPciCapType.COMMON_CFG, VirtioPciLayout.CommonCfgOffset, VirtioPciLayout.CommonCfgLength, []);
        Span<byte> multiplier = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(multiplier, VirtioPciLayout.NotifyOffMultiplier);
        AddVirtioCap(VirtioPciCapType.NOTIFY_CFG, VirtioPciLayout.NotifyOffset, (uint)notifyLength, multiplier);
        AddVirtioCap(VirtioPciCapType.ISR_CFG, VirtioPciLayout.IsrOffset, VirtioPciLayout.IsrLength, []);
        if (device.ConfigSize > 0)
        {
            AddVirtioCap(VirtioPciCapType.DEVICE_CFG, VirtioPciLayout.DeviceCfgOffset, (uint)device.ConfigSize, []);
        }

        // PCI_CFG (§4.1.4.8): bar, offset, length and pci_cfg_data are writable by the driver.
        _pciCfgCap = AddVirtioCap(VirtioPciCapType.PCI_CFG, 0, 0, [0, 0, 0, 0]);
        Config.SetWritable(_pciCfgCap + VirtioPciCap.Bar, 1, 0xFF);
        Config.SetWritable(_pciCfgCap + VirtioPciCap.Offset, 4, 0xFFFF_FFFF);
        Config.SetWritable(_pciCfgCap + VirtioPciCap.Length, 4, 0xFFFF_FFFF);
        Config.SetWritable(_pciCfgCap + VirtioPciCap.PciCfgData, 4, 0xFFFF_FFFF);

        device.Attach(_host);
    }

    /// <summary>The device this transport carries.</summary>
    public IVirtioDevice Device => _device;

    /// <summary>The queues, indexed as the driver selects them.</summary>
    public IReadOnlyList<SplitVirtqueue> Queues => _queues;

    /// <summary>The BAR's windows, for the inspector.</summary>
    public MmioRegionRouter Router { get; }

    public VirtioDeviceStatus Status => (VirtioDeviceStatus)_status;

    public ulong DriverFeatures => _driverFeatures;

    public ulong OfferedFeatures => _offered;

    /// <summary>Incremented whenever the device configuration changes (§4.1.4.3).</summary>
    public byte ConfigGeneration { get; private set; }

    public ushort ConfigMsixVector => _configVector;

    public ushort QueueMsixVector(int queue) => _queueVectors[queue];

    /// <summary>The ISR bits pending (not yet read by the driver).</summary>
    public VirtioPciIsr PendingIsr => (VirtioPciIsr)_isr;

    /// <summary>The INTx level: ISR bits pending while MSI-X is disabled and INTx is not disabled in Command.</summary>
    public bool IntxAsserted => _isr != 0 && !(Msix?.Enabled ?? false) && (Command & PciCommand.InterruptDisable) == 0;

    /// <summary>Notifications the driver wrote, including ignored ones.</summary>
    public long NotifyWrites { get; private set; }

    /// <summary>Configuration-change interrupts raised.</summary>
    public long ConfigInterrupts { get; private set; }

    protected override void OnReset(ResetKind kind)
    {
        ResetTransport(kind);
    }

    protected override void OnConfigReading(int offset, int length)
    {
        if (Touches(offset, length, _pciCfgCap + VirtioPciCap.PciCfgData, 4) && TryPciCfgWindow(out int barOffset, out int width))
        {
            Span<byte> data = stackalloc byte[4];
            data.Clear();
            Router.Read((ulong)barOffset, data[..width]);
            for (int i = 0; i < 4; i++)
            {
                Config.SetByte(_pciCfgCap + VirtioPciCap.PciCfgData + i, data[i]);
            }
        }
    }

    protected override void OnConfigWritten(int offset, int length)
    {
        if (Touches(offset, length, _pciCfgCap + VirtioPciCap.PciCfgData, 4) && TryPciCfgWindow(out int barOffset, out int width))
        {
            Span<byte> data = stackalloc byte[4];
            for (int i = 0; i < width; i++)
            {
                data[i] = Config.GetByte(_pciCfgCap + VirtioPciCap.PciCfgData + i);
            }

            Router.Write((ulong)barOffset, data[..width]);
        }
    }

    private static PciIdentity IdentityOf(IVirtioDevice device)
    {
        if (device.DeviceId is 0 or > VirtioPciIds.ModernDeviceIdLast - VirtioPciIds.ModernDeviceIdBase)
        {
            ThrowHelper.ThrowArgument(nameof(device), $"virtio device ID {device.DeviceId} has no modern PCI device ID");
        }

        return new PciIdentity(
            VirtioPciIds.VendorId,
            (ushort)(VirtioPciIds.ModernDeviceIdBase + device.DeviceId),
            device.PciClassCode,
            VirtioPciIds.Revision,
            VirtioPciIds.VendorId,
            (ushort)(VirtioPciIds.SubsystemIdBase + device.DeviceId),
            InterruptPin: 1);
    }

    private static void CheckDevice(IVirtioDevice device, ulong offered)
    {
        if (device.QueueCount is < 0 or > VirtioPciLayout.MaxQueues)
        {
            ThrowHelper.ThrowArgument(nameof(device), $"{device.Name}: {device.QueueCount} queues (at most {VirtioPciLayout.MaxQueues})");
        }

        if (device.ConfigSize is < 0 or > VirtioPciLayout.MaxDeviceConfigSize)
        {
            ThrowHelper.ThrowArgument(nameof(device), $"{device.Name}: device configuration of {device.ConfigSize} bytes (at most {VirtioPciLayout.MaxDeviceConfigSize})");
        }

        if (!VirtioFeatures.Has(offered, VirtioFeatures.VERSION_1) || (offered & VirtioFeatures.TransportUnsupported) != 0)
        {
            ThrowHelper.ThrowArgument(nameof(device), $"{device.Name}: offered features 0x{offered:x} must include VERSION_1 and no transport feature this transport lacks");
        }
    }

    private int AddVirtioCap(byte cfgType, ulong offset, uint length, ReadOnlySpan<byte> extra)
    {
        // The body after cap_vndr and cap_next: cap_len, cfg_type, bar, id, padding[2], offset, length, extra.
        Span<byte> body = stackalloc byte[VirtioPciCap.Size - 2 + extra.Length];
        body.Clear();
        body[0] = (byte)(VirtioPciCap.Size + extra.Length);
        body[1] = cfgType;
        body[2] = cfgType == VirtioPciCapType.PCI_CFG ? (byte)0 : (byte)VirtioPciLayout.Bar;
        BinaryPrimitives.WriteUInt32LittleEndian(body[(VirtioPciCap.Offset - 2)..], (uint)offset);
        BinaryPrimitives.WriteUInt32LittleEndian(body[(VirtioPciCap.Length - 2)..], length);
        extra.CopyTo(body[(VirtioPciCap.Size - 2)..]);
        return Capabilities.Add(PciCapabilityId.VendorSpecific, body);
    }

    private static bool Touches(int start, int length, int regStart, int regLength) => start < regStart + regLength && regStart < start + length;

    /// <summary>The BAR access the PCI_CFG capability describes, if the driver programmed a valid one.</summary>
    private bool TryPciCfgWindow(out int barOffset, out int width)
    {
        byte bar = Config.GetByte(_pciCfgCap + VirtioPciCap.Bar);
        uint offset = Config.GetUInt32(_pciCfgCap + VirtioPciCap.Offset);
        uint length = Config.GetUInt32(_pciCfgCap + VirtioPciCap.Length);
        barOffset = (int)offset;
        width = (int)length;
        ulong size = Bars[VirtioPciLayout.Bar]!.Size;
        if (bar != VirtioPciLayout.Bar || length is not (1 or 2 or 4) || offset % length != 0 || (ulong)offset + length > size)
        {
            GuestError($"PCI_CFG access bar {bar} offset 0x{offset:x} length {length} is not a valid access of BAR{VirtioPciLayout.Bar}: ignored");
            return false;
        }

        return true;
    }

    private bool DriverOk => (_status & (byte)VirtioDeviceStatus.DRIVER_OK) != 0;

    private bool NeedsResetSet => (_status & (byte)VirtioDeviceStatus.DEVICE_NEEDS_RESET) != 0;

    private SplitVirtqueue? SelectedQueue => _queueSelect < _queues.Length ? _queues[_queueSelect] : null;

    private void ResetTransport(ResetKind kind)
    {
        _device.Reset(kind);
        foreach (var q in _queues)
        {
            q.Reset();
        }

        Array.Fill(_queueVectors, VirtioPciMsix.NO_VECTOR);
        _configVector = VirtioPciMsix.NO_VECTOR;
        _status = 0;
        _deviceFeatureSelect = 0;
        _driverFeatureSelect = 0;
        _driverFeatures = 0;
        _queueSelect = 0;
        _activation = null;
        SetIsr(0);
    }

    // ---- common configuration ----

    private void ReadCommon(ulong offset, Span<byte> data)
    {
        Span<byte> regs = stackalloc byte[0x40];
        regs.Clear();
        uint deviceFeature = _deviceFeatureSelect switch
        {
            0 => (uint)_offered,
            1 => (uint)(_offered >> 32),
            _ => 0,
        };
        uint driverFeature = _driverFeatureSelect switch
        {
            0 => (uint)_driverFeatures,
            1 => (uint)(_driverFeatures >> 32),
            _ => 0,
        };
        BinaryPrimitives.WriteUInt32LittleEndian(regs[VirtioPciCommonCfg.device_feature_select..], _deviceFeatureSelect);
        BinaryPrimitives.WriteUInt32LittleEndian(regs[VirtioPciCommonCfg.device_feature..], deviceFeature);
        BinaryPrimitives.WriteUInt32LittleEndian(regs[VirtioPciCommonCfg.driver_feature_select..], _driverFeatureSelect);
        BinaryPrimitives.WriteUInt32LittleEndian(regs[VirtioPciCommonCfg.driver_feature..], driverFeature);
        BinaryPrimitives.WriteUInt16LittleEndian(regs[VirtioPciCommonCfg.config_msix_vector..], _configVector);
        BinaryPrimitives.WriteUInt16LittleEndian(regs[VirtioPciCommonCfg.num_queues..], (ushort)_queues.Length);
        regs[VirtioPciCommonCfg.device_status] = _status;
        regs[VirtioPciCommonCfg.config_generation] = ConfigGeneration;
        BinaryPrimitives.WriteUInt16LittleEndian(regs[VirtioPciCommonCfg.queue_select..], _queueSelect);
        if (SelectedQueue is { } q)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(regs[VirtioPciCommonCfg.queue_size..], q.Size);
            BinaryPrimitives.WriteUInt16LittleEndian(regs[VirtioPciCommonCfg.queue_msix_vector..], _queueVectors[q.Index]);
            BinaryPrimitives.WriteUInt16LittleEndian(regs[VirtioPciCommonCfg.queue_enable..], q.Enabled ? (ushort)1 : (ushort)0);
            BinaryPrimitives.WriteUInt16LittleEndian(regs[VirtioPciCommonCfg.queue_notify_off..], (ushort)q.Index);
            BinaryPrimitives.WriteUInt64LittleEndian(regs[VirtioPciCommonCfg.queue_desc..], q.DescTable);
            BinaryPrimitives.WriteUInt64LittleEndian(regs[VirtioPciCommonCfg.queue_driver..], q.AvailRing);
            BinaryPrimitives.WriteUInt64LittleEndian(regs[VirtioPciCommonCfg.queue_device..], q.UsedRing);
        }
        else
        {
            // §4.1.4.3: a queue that does not exist reads queue_size 0; its vector reads NO_VECTOR.
            BinaryPrimitives.WriteUInt16LittleEndian(regs[VirtioPciCommonCfg.queue_msix_vector..], VirtioPciMsix.NO_VECTOR);
        }

        for (int i = 0; i < data.Length; i++)
        {
            ulong at = offset + (ulong)i;
            data[i] = at < VirtioPciCommonCfg.Size ? regs[(int)at] : (byte)0;
        }
    }

    private void WriteCommon(ulong offset, ReadOnlySpan<byte> data)
    {
        ulong value = data.Length switch
        {
            1 => data[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(data),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(data),
            8 => BinaryPrimitives.ReadUInt64LittleEndian(data),
            _ => 0,
        };

        switch (offset, data.Length)
        {
            case (VirtioPciCommonCfg.device_feature_select, 4):
                _deviceFeatureSelect = (uint)value;
                return;
            case (VirtioPciCommonCfg.driver_feature_select, 4):
                _driverFeatureSelect = (uint)value;
                return;
            case (VirtioPciCommonCfg.driver_feature, 4):
                WriteDriverFeature((uint)value);
                return;
            case (VirtioPciCommonCfg.config_msix_vector, 2):
                _configVector = CheckVector((ushort)value, "config_msix_vector");
                return;
            case (VirtioPciCommonCfg.device_status, 1):
                WriteStatus((byte)value);
                return;
            case (VirtioPciCommonCfg.queue_select, 2):
                _queueSelect = (ushort)value;
                return;
            case (VirtioPciCommonCfg.queue_size, 2):
                WriteQueueSize((ushort)value);
                return;
            case (VirtioPciCommonCfg.queue_msix_vector, 2):
                if (SelectedQueue is { } vq)
                {
                    _queueVectors[vq.Index] = CheckVector((ushort)value, $"queue_msix_vector of queue {vq.Index}");
                }
                else
                {
                    GuestError($"queue_msix_vector write for queue {_queueSelect}, which does not exist");
                }

                return;
            case (VirtioPciCommonCfg.queue_enable, 2):
                WriteQueueEnable((ushort)value);
                return;
            case (>= VirtioPciCommonCfg.queue_desc and < VirtioPciCommonCfg.Size, 4 or 8) when offset % (ulong)data.Length == 0:
                WriteQueueAddress((int)offset, data.Length, value);
                return;
            case (VirtioPciCommonCfg.device_feature or VirtioPciCommonCfg.num_queues or VirtioPciCommonCfg.config_generation or VirtioPciCommonCfg.queue_notify_off, _):
                GuestError($"write to read-only common config field at 0x{offset:x}: ignored");
                return;
            default:
                GuestError($"common config write of {data.Length} bytes at 0x{offset:x} does not match a field: ignored");
                return;
        }
    }

    private void WriteDriverFeature(uint value)
    {
        if ((_status & (byte)VirtioDeviceStatus.FEATURES_OK) != 0)
        {
            GuestError("driver_feature written after FEATURES_OK: ignored");
            return;
        }

        switch (_driverFeatureSelect)
        {
            case 0:
                _driverFeatures = (_driverFeatures & 0xFFFF_FFFF_0000_0000) | value;
                break;
            case 1:
                _driverFeatures = (_driverFeatures & 0xFFFF_FFFF) | ((ulong)value << 32);
                break;
            default:
                if (value != 0)
                {
                    GuestError($"driver_feature bits 0x{value:x} in word {_driverFeatureSelect}, which the device never offers: ignored");
                }

                break;
        }
    }

    private ushort CheckVector(ushort vector, string field)
    {
        if (vector == VirtioPciMsix.NO_VECTOR)
        {
            return vector;
        }

        int count = Msix?.VectorCount ?? 0;
        if (vector >= count)
        {
            // §4.1.5.1.2: a vector the device cannot map reads back as NO_VECTOR.
            GuestError($"{field} {vector} is outside the MSI-X table of {count}: NO_VECTOR");
            return VirtioPciMsix.NO_VECTOR;
        }

        return vector;
    }

    private bool CanConfigureSelectedQueue(string field, out SplitVirtqueue queue)
    {
        queue = SelectedQueue!;
        if (queue == null)
        {
            GuestError($"{field} write for queue {_queueSelect}, which does not exist: ignored");
            return false;
        }

        if (queue.Enabled)
        {
            GuestError($"{field} write for queue {queue.Index} while it is enabled: ignored");
            return false;
        }

        return true;
    }

    private void WriteQueueSize(ushort size)
    {
        if (!CanConfigureSelectedQueue("queue_size", out var q))
        {
            return;
        }

        if (size == 0 || size > q.MaxSize || (size & (size - 1)) != 0)
        {
            GuestError($"queue_size {size} for queue {q.Index} is not a power of two up to {q.MaxSize}: ignored");
            return;
        }

        q.Size = size;
    }

    private void WriteQueueAddress(int offset, int width, ulong value)
    {
        if (!CanConfigureSelectedQueue("queue address", out var q))
        {
            return;
        }

        int field = offset < VirtioPciCommonCfg.queue_driver ? VirtioPciCommonCfg.queue_desc
            : offset < VirtioPciCommonCfg.queue_device ? VirtioPciCommonCfg.queue_driver : VirtioPciCommonCfg.queue_device;
        ulong current = field == VirtioPciCommonCfg.queue_desc ? q.DescTable : field == VirtioPciCommonCfg.queue_driver ? q.AvailRing : q.UsedRing;
        ulong updated = width == 8 ? value
            : offset == field ? (current & 0xFFFF_FFFF_0000_0000) | value
            : (current & 0xFFFF_FFFF) | (value << 32);
        if (field == VirtioPciCommonCfg.queue_desc)
        {
            q.DescTable = updated;
        }
        else if (field == VirtioPciCommonCfg.queue_driver)
        {
            q.AvailRing = updated;
        }
        else
        {
            q.UsedRing = updated;
        }
    }

    private void WriteQueueEnable(ushort value)
    {
        if (value != 1)
        {
            // §4.1.4.3.2: the driver MUST NOT write 0 to queue_enable (RING_RESET is not offered).
            GuestError($"queue_enable {value} for queue {_queueSelect}: only 1 is defined, ignored");
            return;
        }

        if (!CanConfigureSelectedQueue("queue_enable", out var q))
        {
            return;
        }

        q.Enabled = true;
        if (_activation != null)
        {
            // Enabled after DRIVER_OK: the queue starts now.
            q.Activate(Dma, _activation.Features);
        }
    }

    private void WriteStatus(byte value)
    {
        if (value == 0)
        {
            ResetTransport(ResetKind.Device);
            return;
        }

        const byte deviceOwned = (byte)VirtioDeviceStatus.DEVICE_NEEDS_RESET;
        byte old = _status;
        byte driverBits = (byte)(value & ~deviceOwned);
        if ((old & ~deviceOwned & ~driverBits) != 0)
        {
            // §2.1.2: the driver MUST NOT clear a status bit (other than by resetting).
            GuestError($"device_status 0x{value:x2} clears bits of 0x{old:x2}: ignored");
            return;
        }

        byte added = (byte)(driverBits & ~old);
        byte next = (byte)(old | driverBits);
        if ((added & (byte)VirtioDeviceStatus.FEATURES_OK) != 0)
        {
            string? refusal = CheckDriverFeatures(_driverFeatures);
            if (refusal != null)
            {
                // §2.2.2 / §3.1.1: refuse by leaving FEATURES_OK clear; the driver re-reads the status.
                GuestError($"FEATURES_OK refused for features 0x{_driverFeatures:x}: {refusal}");
                next &= unchecked((byte)~VirtioDeviceStatus.FEATURES_OK);
            }
        }

        if ((added & (byte)VirtioDeviceStatus.DRIVER_OK) != 0 && (next & (byte)VirtioDeviceStatus.FEATURES_OK) == 0)
        {
            GuestError("DRIVER_OK without FEATURES_OK: refused");
            next &= unchecked((byte)~VirtioDeviceStatus.DRIVER_OK);
        }

        _status = next;
        if ((next & (byte)VirtioDeviceStatus.DRIVER_OK) != 0 && (old & (byte)VirtioDeviceStatus.DRIVER_OK) == 0)
        {
            ActivateDevice();
        }
    }

    private string? CheckDriverFeatures(ulong features)
    {
        if (!VirtioFeatures.Has(features, VirtioFeatures.VERSION_1))
        {
            return "VERSION_1 not accepted (this is a modern-only device)";
        }

        if ((features & ~_offered) != 0)
        {
            return $"bits 0x{features & ~_offered:x} were not offered";
        }

        return _device.CheckFeatures(features);
    }

    private void ActivateDevice()
    {
        var memory = Dma;
        foreach (var q in _queues)
        {
            if (q.Enabled)
            {
                q.Activate(memory, _driverFeatures);
            }
        }

        _activation = new VirtioActivation(_driverFeatures, _queues, memory);
        _device.Activate(_activation);
    }

    // ---- notifications and interrupts ----

    private void Notify(ulong offset)
    {
        NotifyWrites++;
        ulong index = offset / VirtioPciLayout.NotifyOffMultiplier;
        if (index >= (ulong)_queues.Length)
        {
            GuestError($"notify for queue {index}, which does not exist: ignored");
            return;
        }

        var q = _queues[index];
        if (!DriverOk || NeedsResetSet)
        {
            GuestError($"notify for queue {index} before DRIVER_OK or while the device needs reset: ignored");
            return;
        }

        if (!q.IsReady)
        {
            GuestError($"notify for queue {index}, which is not enabled or is broken: ignored");
            return;
        }

        q.Kicks++;
        _device.QueueNotify(q.Index);
    }

    private void SignalQueue(SplitVirtqueue queue)
    {
        if (!DriverOk)
        {
            return;
        }

        Interrupt(VirtioPciIsr.Queue, _queueVectors[queue.Index]);
    }

    private void SignalConfig()
    {
        ConfigInterrupts++;
        Interrupt(VirtioPciIsr.DeviceConfiguration, _configVector);
    }

    private void Interrupt(VirtioPciIsr reason, ushort vector)
    {
        SetIsr((byte)(_isr | (byte)reason));
        if (Msix is { Enabled: true } msix && vector != VirtioPciMsix.NO_VECTOR)
        {
            msix.Notify(vector);
        }
    }

    private void SetIsr(byte value)
    {
        _isr = value;
        bool pending = value != 0 && !(Msix?.Enabled ?? false);
        ushort status = Config.GetUInt16(PciConfig.Status);
        status = pending ? (ushort)(status | (ushort)PciStatus.InterruptStatus) : (ushort)(status & ~(ushort)PciStatus.InterruptStatus);
        Config.SetUInt16(PciConfig.Status, status);
    }

    private byte ReadIsr()
    {
        byte value = _isr;
        SetIsr(0);
        return value;
    }

    private void GuestError(string message)
    {
        if (IsPlaced)
        {
            GuestErrors.Report($"{Address} {Name}", message);
        }
    }

    private void NeedsReset(string reason)
    {
        GuestError($"device needs reset: {reason}");
        if (NeedsResetSet || _status == 0)
        {
            return;
        }

        _status |= (byte)VirtioDeviceStatus.DEVICE_NEEDS_RESET;
        if (DriverOk)
        {
            SignalConfig();
        }
    }

    /// <summary>The transport's side of the queue and device seams, kept off the public surface.</summary>
    private sealed class Host(VirtioPciFunction owner) : IVirtqueueOwner, IVirtioDeviceHost
    {
        public void ReportGuestError(SplitVirtqueue queue, string message) => owner.GuestError($"queue {queue.Index}: {message}");

        public void OnQueueBroken(SplitVirtqueue queue, string reason) => owner.NeedsReset($"queue {queue.Index}: {reason}");

        public void SignalUsedBuffers(SplitVirtqueue queue) => owner.SignalQueue(queue);

        public void ConfigChanged()
        {
            owner.ConfigGeneration++;
            if (owner.DriverOk)
            {
                owner.SignalConfig();
            }
        }

        public void NeedsReset(string reason) => owner.NeedsReset(reason);

        public void ReportGuestError(string message) => owner.GuestError(message);
    }

    private sealed class CommonCfgWindow(VirtioPciFunction owner) : IMmioDevice
    {
        public void Read(ulong offset, Span<byte> data) => owner.ReadCommon(offset, data);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => owner.WriteCommon(offset, data);
    }

    private sealed class IsrWindow(VirtioPciFunction owner) : IMmioDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            data.Clear();
            if (offset == 0 && data.Length > 0)
            {
                data[0] = owner.ReadIsr();
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data) => owner.GuestError("write to the read-only ISR status: ignored");
    }

    private sealed class DeviceCfgWindow(VirtioPciFunction owner) : IMmioDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            data.Clear();
            int size = owner._device.ConfigSize;
            if (offset < (ulong)size)
            {
                int n = (int)Math.Min((ulong)data.Length, (ulong)size - offset);
                owner._device.ReadConfig((int)offset, data[..n]);
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            int size = owner._device.ConfigSize;
            if (offset >= (ulong)size || (ulong)data.Length > (ulong)size - offset)
            {
                owner.GuestError($"device config write of {data.Length} bytes at 0x{offset:x} outside {size} bytes: ignored");
                return;
            }

            owner._device.WriteConfig((int)offset, data);
        }
    }

    private sealed class NotifyWindow(VirtioPciFunction owner) : IMmioDevice
    {
        public void Read(ulong offset, Span<byte> data) => data.Clear();

        public void Write(ulong offset, ReadOnlySpan<byte> data) => owner.Notify(offset);
    }
}
