namespace ManagedVmm.Virtio.Spec;

/// <summary>The device_status field (virtio 1.2 §2.1).</summary>
[Flags]
public enum VirtioDeviceStatus : byte
{
    /// <summary>Written by the driver to reset the device (§2.1, §2.4).</summary>
    Reset = 0,

    /// <summary>ACKNOWLEDGE (1): the guest OS found the device.</summary>
    ACKNOWLEDGE = 1,

    /// <summary>DRIVER (2): the guest OS knows how to drive it.</summary>
    DRIVER = 2,

    /// <summary>DRIVER_OK (4): the driver is set up and ready (§3.1.1 step 8).</summary>
    DRIVER_OK = 4,

    /// <summary>FEATURES_OK (8): the driver acknowledged the features; the device clears it to refuse them.</summary>
    FEATURES_OK = 8,

    /// <summary>DEVICE_NEEDS_RESET (64): the device hit an unrecoverable error (§2.1.2).</summary>
    DEVICE_NEEDS_RESET = 64,

    /// <summary>FAILED (128): the driver gave up on the device.</summary>
    FAILED = 128,
}
