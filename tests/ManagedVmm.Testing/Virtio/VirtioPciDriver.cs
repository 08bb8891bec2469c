using ManagedVmm.Core;
using ManagedVmm.Pci.Spec;
using ManagedVmm.Virtio.Spec;

namespace ManagedVmm.Testing.Virtio;

/// <summary>Where one virtio structure is, as its vendor capability announced it.</summary>
public readonly record struct VirtioCapInfo(int CapOffset, byte Bar, uint Offset, uint Length);

/// <summary>
/// A test-side virtio-pci modern driver (the steps of Linux's <c>virtio_pci_modern</c> and libqos'
/// <c>qvirtio_pci</c>): finds the vendor capabilities in configuration space, maps the structures through the
/// BAR addresses enumeration assigned, runs the status handshake and feature negotiation, sets up queues and
/// MSI-X vectors, and kicks through the notify area. Every step is also available alone so tests can break the
/// sequence on purpose.
/// </summary>
public sealed class VirtioPciDriver
{
    private readonly IQtest _q;
    private readonly GuestBufferAllocator _alloc;
    private readonly Dictionary<byte, VirtioCapInfo> _caps = [];
    private readonly ulong[] _bars = new ulong[6];

    public VirtioPciDriver(IQtest q, GuestBufferAllocator alloc, Bdf address)
    {
        _q = q;
        _alloc = alloc;
        Address = address;
        for (int bar = 0; bar < 6; bar++)
        {
            uint low = q.ConfigRead32(address, PciConfig.BarOffset(bar));
            if ((low & PciBarBits.IoSpace) != 0)
            {
                continue;
            }

            if ((low & 0x6) == PciBarBits.Memory64 && bar < 5)
            {
                _bars[bar] = (low & PciBarBits.MemoryAddressMask) | ((ulong)q.ConfigRead32(address, PciConfig.BarOffset(bar + 1)) << 32);
                bar++;
            }
            else
            {
                _bars[bar] = low & PciBarBits.MemoryAddressMask;
            }
        }

        int pointer = q.ConfigRead8(address, PciConfig.CapabilitiesPointer) & 0xFC;
        for (int guard = 0; pointer >= PciConfig.CapabilitiesStart && guard < 48; guard++)
        {
            byte id = q.ConfigRead8(address, pointer);
            if (id == PciCapabilityId.MsiX)
            {
                MsixCap = pointer;
            }
            else if (id == PciCapabilityId.VendorSpecific)
            {
                byte type = q.ConfigRead8(address, pointer + VirtioPciCap.CfgType);
                var info = new VirtioCapInfo(
                    pointer,
                    q.ConfigRead8(address, pointer + VirtioPciCap.Bar),
                    q.ConfigRead32(address, pointer + VirtioPciCap.Offset),
                    q.ConfigRead32(address, pointer + VirtioPciCap.Length));
                _caps.TryAdd(type, info); // the driver uses the first capability of each type (§4.1.4)
                if (type == VirtioPciCapType.NOTIFY_CFG)
                {
                    NotifyOffMultiplier = q.ConfigRead32(address, pointer + VirtioPciCap.NotifyOffMultiplier);
                }
            }

            pointer = q.ConfigRead8(address, pointer + 1) & 0xFC;
        }
    }

    public Bdf Address { get; }

    /// <summary>The capabilities found, by cfg_type.</summary>
    public IReadOnlyDictionary<byte, VirtioCapInfo> Caps => _caps;

    public uint NotifyOffMultiplier { get; }

    /// <summary>Offset of the MSI-X capability, 0 if absent.</summary>
    public int MsixCap { get; }

    public ulong CommonBase => Base(VirtioPciCapType.COMMON_CFG);

    public ulong IsrAddress => Base(VirtioPciCapType.ISR_CFG);

    public ulong DeviceCfgBase => Base(VirtioPciCapType.DEVICE_CFG);

    public ulong NotifyBase => Base(VirtioPciCapType.NOTIFY_CFG);

    public ulong BarAddress(int bar) => _bars[bar];

    // ---- common configuration ----

    public byte Read8(int field) => _q.ReadB(CommonBase + (ulong)field);

    public ushort Read16(int field) => _q.ReadW(CommonBase + (ulong)field);

    public uint Read32(int field) => _q.ReadL(CommonBase + (ulong)field);

    public void Write8(int field, byte value) => _q.WriteB(CommonBase + (ulong)field, value);

    public void Write16(int field, ushort value) => _q.WriteW(CommonBase + (ulong)field, value);

    public void Write32(int field, uint value) => _q.WriteL(CommonBase + (ulong)field, value);

    public VirtioDeviceStatus Status
    {
        get => (VirtioDeviceStatus)Read8(VirtioPciCommonCfg.device_status);
        set => Write8(VirtioPciCommonCfg.device_status, (byte)value);
    }

    /// <summary>Adds <paramref name="bits"/> to the status, as drivers do (read, or, write).</summary>
    public void AddStatus(VirtioDeviceStatus bits) => Status |= bits;

    /// <summary>Writes 0 and checks that the device reads back 0 (§3.1.1 step 1).</summary>
    public void Reset()
    {
        Status = VirtioDeviceStatus.Reset;
        if (Status != VirtioDeviceStatus.Reset)
        {
            throw new InvalidOperationException("device did not reset");
        }
    }

    public ulong DeviceFeatures
    {
        get
        {
            Write32(VirtioPciCommonCfg.device_feature_select, 0);
            ulong low = Read32(VirtioPciCommonCfg.device_feature);
            Write32(VirtioPciCommonCfg.device_feature_select, 1);
            return low | ((ulong)Read32(VirtioPciCommonCfg.device_feature) << 32);
        }
    }

    public void WriteDriverFeatures(ulong features)
    {
        Write32(VirtioPciCommonCfg.driver_feature_select, 0);
        Write32(VirtioPciCommonCfg.driver_feature, (uint)features);
        Write32(VirtioPciCommonCfg.driver_feature_select, 1);
        Write32(VirtioPciCommonCfg.driver_feature, (uint)(features >> 32));
    }

    /// <summary>
    /// Reset, ACKNOWLEDGE, DRIVER, write <paramref name="features"/>, FEATURES_OK, and re-read the status.
    /// Returns whether the device accepted the features (FEATURES_OK still set).
    /// </summary>
    public bool Negotiate(ulong features)
    {
        Reset();
        AddStatus(VirtioDeviceStatus.ACKNOWLEDGE);
        AddStatus(VirtioDeviceStatus.DRIVER);
        WriteDriverFeatures(features);
        AddStatus(VirtioDeviceStatus.FEATURES_OK);
        return (Status & VirtioDeviceStatus.FEATURES_OK) != 0;
    }

    /// <summary>
    /// Sets up queue <paramref name="index"/> (§4.1.5.1.3): select, read the size (0 = absent), optionally shrink
    /// it, allocate rings, set the MSI-X vector, write the addresses as 32-bit halves, enable.
    /// </summary>
    public VirtqueueDriver SetupQueue(int index, ushort? size = null, ushort vector = VirtioPciMsix.NO_VECTOR)
    {
        Write16(VirtioPciCommonCfg.queue_select, (ushort)index);
        ushort max = Read16(VirtioPciCommonCfg.queue_size);
        if (max == 0)
        {
            throw new InvalidOperationException($"queue {index} does not exist");
        }

        ushort chosen = size ?? max;
        Write16(VirtioPciCommonCfg.queue_size, chosen);
        ushort notifyOff = Read16(VirtioPciCommonCfg.queue_notify_off);
        var vq = new VirtqueueDriver(_q.Ram, _alloc, index, chosen, _ => Notify(notifyOff, (ushort)index));
        Write16(VirtioPciCommonCfg.queue_msix_vector, vector);
        WriteQueueAddress(VirtioPciCommonCfg.queue_desc, vq.DescTable);
        WriteQueueAddress(VirtioPciCommonCfg.queue_driver, vq.AvailRing);
        WriteQueueAddress(VirtioPciCommonCfg.queue_device, vq.UsedRing);
        Write16(VirtioPciCommonCfg.queue_enable, 1);
        return vq;
    }

    /// <summary>Writes a 64-bit queue field as two 32-bit halves, low first (as Linux does).</summary>
    public void WriteQueueAddress(int field, ulong address)
    {
        Write32(field, (uint)address);
        Write32(field + 4, (uint)(address >> 32));
    }

    public void DriverOk() => AddStatus(VirtioDeviceStatus.DRIVER_OK);

    /// <summary>The whole bring-up: negotiate, set up <paramref name="queues"/> queues (vector = queue index when MSI-X is on), DRIVER_OK.</summary>
    public VirtqueueDriver[] Initialize(ulong features, int queues, bool msix = false)
    {
        if (!Negotiate(features))
        {
            throw new InvalidOperationException($"device refused features 0x{features:x}");
        }

        if (msix)
        {
            EnableMsix(queues + 1);
            Write16(VirtioPciCommonCfg.config_msix_vector, (ushort)queues);
        }

        var result = new VirtqueueDriver[queues];
        for (int i = 0; i < queues; i++)
        {
            result[i] = SetupQueue(i, vector: msix ? (ushort)i : VirtioPciMsix.NO_VECTOR);
            result[i].EventIdx = VirtioFeatures.Has(features, VirtioFeatures.RING_EVENT_IDX);
        }

        DriverOk();
        return result;
    }

    /// <summary>Writes the queue index to the queue's doorbell: notify base + queue_notify_off × multiplier.</summary>
    public void Notify(ushort notifyOff, ushort queueIndex) =>
        _q.WriteW(NotifyBase + ((ulong)notifyOff * NotifyOffMultiplier), queueIndex);

    /// <summary>Reads (and thereby clears) the ISR status byte.</summary>
    public VirtioPciIsr ReadIsr() => (VirtioPciIsr)_q.ReadB(IsrAddress);

    // ---- MSI-X ----

    /// <summary>
    /// Enables MSI-X and programs <paramref name="vectors"/> entries, unmasked, with address 0xFEE00000 and
    /// data 0x40 + vector, so a test recognises each vector by its data.
    /// </summary>
    public void EnableMsix(int vectors)
    {
        uint table = _q.ConfigRead32(Address, MsixCap + 4);
        ulong tableBase = _bars[table & 7] + (table & ~7u);
        for (int v = 0; v < vectors; v++)
        {
            ulong entry = tableBase + ((ulong)v * 16);
            _q.WriteL(entry, 0xFEE0_0000);
            _q.WriteL(entry + 4, 0);
            _q.WriteL(entry + 8, MsixData(v));
            _q.WriteL(entry + 12, 0);
        }

        ushort control = _q.ConfigRead16(Address, MsixCap + 2);
        _q.ConfigWrite16(Address, MsixCap + 2, (ushort)(control | 0x8000));
    }

    public void DisableMsix()
    {
        ushort control = _q.ConfigRead16(Address, MsixCap + 2);
        _q.ConfigWrite16(Address, MsixCap + 2, (ushort)(control & ~0x8000));
    }

    /// <summary>The MSI data the test kit programs for <paramref name="vector"/>.</summary>
    public static uint MsixData(int vector) => 0x40 + (uint)vector;

    // ---- device configuration ----

    public byte ReadConfig8(int offset) => _q.ReadB(DeviceCfgBase + (ulong)offset);

    public ushort ReadConfig16(int offset) => _q.ReadW(DeviceCfgBase + (ulong)offset);

    public uint ReadConfig32(int offset) => _q.ReadL(DeviceCfgBase + (ulong)offset);

    /// <summary>A 64-bit config field read as two 32-bit halves, retried until config_generation is stable (§4.1.4.3.1).</summary>
    public ulong ReadConfig64(int offset)
    {
        for (int attempt = 0; attempt < 16; attempt++)
        {
            byte before = Read8(VirtioPciCommonCfg.config_generation);
            ulong value = ReadConfig32(offset) | ((ulong)ReadConfig32(offset + 4) << 32);
            if (Read8(VirtioPciCommonCfg.config_generation) == before)
            {
                return value;
            }
        }

        throw new InvalidOperationException("config_generation never settled");
    }

    public void WriteConfig8(int offset, byte value) => _q.WriteB(DeviceCfgBase + (ulong)offset, value);

    public void WriteConfig32(int offset, uint value) => _q.WriteL(DeviceCfgBase + (ulong)offset, value);

    // ---- PCI_CFG access capability ----

    /// <summary>Reads <paramref name="length"/> bytes of BAR <paramref name="bar"/> through the PCI_CFG window in configuration space.</summary>
    public uint PciCfgRead(byte bar, uint offset, uint length)
    {
        int cap = _caps[VirtioPciCapType.PCI_CFG].CapOffset;
        _q.ConfigWrite8(Address, cap + VirtioPciCap.Bar, bar);
        _q.ConfigWrite32(Address, cap + VirtioPciCap.Offset, offset);
        _q.ConfigWrite32(Address, cap + VirtioPciCap.Length, length);
        uint value = _q.ConfigRead32(Address, cap + VirtioPciCap.PciCfgData);
        return length == 4 ? value : value & ((1u << (int)(8 * length)) - 1);
    }

    /// <summary>Writes <paramref name="length"/> bytes of BAR <paramref name="bar"/> through the PCI_CFG window.</summary>
    public void PciCfgWrite(byte bar, uint offset, uint length, uint value)
    {
        int cap = _caps[VirtioPciCapType.PCI_CFG].CapOffset;
        _q.ConfigWrite8(Address, cap + VirtioPciCap.Bar, bar);
        _q.ConfigWrite32(Address, cap + VirtioPciCap.Offset, offset);
        _q.ConfigWrite32(Address, cap + VirtioPciCap.Length, length);
        switch (length)
        {
            case 1:
                _q.ConfigWrite8(Address, cap + VirtioPciCap.PciCfgData, (byte)value);
                break;
            case 2:
                _q.ConfigWrite16(Address, cap + VirtioPciCap.PciCfgData, (ushort)value);
                break;
            default:
                _q.ConfigWrite32(Address, cap + VirtioPciCap.PciCfgData, value);
                break;
        }
    }

    private ulong Base(byte type)
    {
        var cap = _caps.TryGetValue(type, out var c) ? c : throw new InvalidOperationException($"no virtio capability of type {type}");
        return _bars[cap.Bar] + cap.Offset;
    }
}
