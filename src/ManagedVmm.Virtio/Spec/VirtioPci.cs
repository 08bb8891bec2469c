namespace ManagedVmm.Virtio.Spec;

/// <summary>virtio-pci identity (virtio 1.2 §4.1.2 "PCI Device Discovery").</summary>
public static class VirtioPciIds
{
    /// <summary>PCI Vendor ID of every virtio device (Red Hat, Inc.).</summary>
    public const ushort VendorId = 0x1AF4;

    /// <summary>Modern (non-transitional) device IDs are 0x1040 + virtio device ID.</summary>
    public const ushort ModernDeviceIdBase = 0x1040;

    /// <summary>The highest modern device ID (device ID 63).</summary>
    public const ushort ModernDeviceIdLast = 0x107F;

    /// <summary>Non-transitional devices SHOULD have a Revision ID of 1 or higher (§4.1.2.1).</summary>
    public const byte Revision = 1;

    /// <summary>Non-transitional devices SHOULD have a Subsystem Device ID of 0x40 or higher (§4.1.2.1).</summary>
    public const ushort SubsystemIdBase = 0x40;
}

/// <summary><c>cfg_type</c> values of <c>struct virtio_pci_cap</c> (§4.1.4).</summary>
public static class VirtioPciCapType
{
    /// <summary>VIRTIO_PCI_CAP_COMMON_CFG (1): common configuration (§4.1.4.3).</summary>
    public const byte COMMON_CFG = 1;

    /// <summary>VIRTIO_PCI_CAP_NOTIFY_CFG (2): notifications (§4.1.4.4).</summary>
    public const byte NOTIFY_CFG = 2;

    /// <summary>VIRTIO_PCI_CAP_ISR_CFG (3): ISR status (§4.1.4.5).</summary>
    public const byte ISR_CFG = 3;

    /// <summary>VIRTIO_PCI_CAP_DEVICE_CFG (4): device-specific configuration (§4.1.4.6).</summary>
    public const byte DEVICE_CFG = 4;

    /// <summary>VIRTIO_PCI_CAP_PCI_CFG (5): PCI configuration access window into the BARs (§4.1.4.8).</summary>
    public const byte PCI_CFG = 5;

    /// <summary>VIRTIO_PCI_CAP_SHARED_MEMORY_CFG (8).</summary>
    public const byte SHARED_MEMORY_CFG = 8;

    /// <summary>VIRTIO_PCI_CAP_VENDOR_CFG (9).</summary>
    public const byte VENDOR_CFG = 9;
}

/// <summary>
/// <c>struct virtio_pci_cap</c> field offsets, relative to the capability (§4.1.4): <c>u8 cap_vndr; u8 cap_next;
/// u8 cap_len; u8 cfg_type; u8 bar; u8 id; u8 padding[2]; le32 offset; le32 length</c>.
/// </summary>
public static class VirtioPciCap
{
    public const int CapLen = 2;
    public const int CfgType = 3;
    public const int Bar = 4;
    public const int Id = 5;
    public const int Offset = 8;
    public const int Length = 12;

    /// <summary>Size of <c>struct virtio_pci_cap</c>.</summary>
    public const int Size = 16;

    /// <summary><c>struct virtio_pci_notify_cap</c>: <c>le32 notify_off_multiplier</c> after the cap (§4.1.4.4).</summary>
    public const int NotifyOffMultiplier = 16;

    /// <summary>Size of <c>struct virtio_pci_notify_cap</c>.</summary>
    public const int NotifySize = 20;

    /// <summary><c>struct virtio_pci_cfg_cap</c>: <c>u8 pci_cfg_data[4]</c> after the cap (§4.1.4.8).</summary>
    public const int PciCfgData = 16;

    /// <summary>Size of <c>struct virtio_pci_cfg_cap</c>.</summary>
    public const int PciCfgSize = 20;
}

/// <summary><c>struct virtio_pci_common_cfg</c> field offsets (§4.1.4.3), all little-endian.</summary>
public static class VirtioPciCommonCfg
{
    public const int device_feature_select = 0x00;
    public const int device_feature = 0x04;
    public const int driver_feature_select = 0x08;
    public const int driver_feature = 0x0C;
    public const int config_msix_vector = 0x10;
    public const int num_queues = 0x12;
    public const int device_status = 0x14;
    public const int config_generation = 0x15;
    public const int queue_select = 0x16;
    public const int queue_size = 0x18;
    public const int queue_msix_vector = 0x1A;
    public const int queue_enable = 0x1C;
    public const int queue_notify_off = 0x1E;
    public const int queue_desc = 0x20;
    public const int queue_driver = 0x28;
    public const int queue_device = 0x30;

    /// <summary><c>queue_notify_data</c>: present only with NOTIF_CONFIG_DATA (not offered here).</summary>
    public const int queue_notify_data = 0x38;

    /// <summary><c>queue_reset</c>: present only with RING_RESET (not offered here).</summary>
    public const int queue_reset = 0x3A;

    /// <summary>Size of the structure up to <c>queue_device</c>, the minimum Linux maps.</summary>
    public const int Size = 0x38;
}

/// <summary>ISR status bits (§4.1.4.5).</summary>
[Flags]
public enum VirtioPciIsr : byte
{
    None = 0,

    /// <summary>Queue Interrupt (bit 0).</summary>
    Queue = 1,

    /// <summary>Device Configuration Interrupt (bit 1).</summary>
    DeviceConfiguration = 2,
}

/// <summary>MSI-X vector configuration (§4.1.5.1.2).</summary>
public static class VirtioPciMsix
{
    /// <summary>VIRTIO_MSI_NO_VECTOR: no vector mapped; the device does not interrupt for that source.</summary>
    public const ushort NO_VECTOR = 0xFFFF;
}
