namespace ManagedVmm.Cli.Devices;

/// <summary>
/// A QEMU-style device specification: <c>driver[,key=value[,key=value…]]</c>, for example
/// <c>nvme,size=64M,file=disk.img</c>. A bare <c>key</c> means <c>key=on</c>. Keys are case-insensitive and
/// '-' and '_' in them are ignored, so <c>page-size-mask</c>, <c>page_size_mask</c> and <c>PageSizeMask</c> agree.
/// </summary>
public sealed record DeviceSpec(string Driver, IReadOnlyList<KeyValuePair<string, string>> Properties)
{
    public static bool TryParse(string text, out DeviceSpec? spec, out string? error)
    {
        spec = null;
        error = null;
        var parts = text.Split(',');
        string driver = parts[0].Trim();
        if (driver.Length == 0)
        {
            error = $"device '{text}' has no driver name (expected e.g. nvme,size=64M)";
            return false;
        }

        var properties = new List<KeyValuePair<string, string>>();
        for (int i = 1; i < parts.Length; i++)
        {
            string part = parts[i];
            if (part.Length == 0)
            {
                error = $"device '{text}': empty property";
                return false;
            }

            int eq = part.IndexOf('=', StringComparison.Ordinal);
            string key = (eq < 0 ? part : part[..eq]).Trim();
            string value = eq < 0 ? "on" : part[(eq + 1)..];
            if (key.Length == 0)
            {
                error = $"device '{text}': property '{part}' has no name";
                return false;
            }

            properties.Add(new(key, value));
        }

        spec = new DeviceSpec(driver, properties);
        return true;
    }

    /// <summary>The canonical form of a key: lower case without '-' and '_'.</summary>
    public static string NormalizeKey(string key) => key.Replace("-", string.Empty, StringComparison.Ordinal)
        .Replace("_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
}
