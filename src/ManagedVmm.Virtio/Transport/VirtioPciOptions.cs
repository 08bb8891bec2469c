namespace ManagedVmm.Virtio.Transport;

/// <summary>
/// Per-device options of the virtio-pci transport, as named options (the name is the device type's full name,
/// see <see cref="NameFor{TDevice}"/>), so that a device plugin can set them from its own options.
/// </summary>
public sealed class VirtioPciOptions
{
    /// <summary>The device number on bus 0; null takes the next free slot.</summary>
    public int? PreferredDevice { get; set; }

    /// <summary>MSI-X table entries; null gives one per queue plus one for configuration changes.</summary>
    public int? MsixVectors { get; set; }

    /// <summary>The options name used for device type <typeparamref name="TDevice"/>.</summary>
    public static string NameFor<TDevice>() => typeof(TDevice).FullName ?? typeof(TDevice).Name;
}
