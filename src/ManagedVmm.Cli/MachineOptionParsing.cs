using System.Globalization;

namespace ManagedVmm.Cli;

/// <summary>QEMU-style values: sizes such as <c>512M</c>, <c>4G</c>, <c>65536</c>, <c>64k</c>.</summary>
internal static class MachineOptionParsing
{
    public static bool TryParseSize(string text, out ulong bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        ulong multiplier = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 1UL << 10,
            'M' => 1UL << 20,
            'G' => 1UL << 30,
            'T' => 1UL << 40,
            _ => 0,
        };
        string digits = multiplier == 0 ? text : text[..^1];
        if (multiplier == 0)
        {
            // A bare number is mebibytes for -m (as QEMU), bytes elsewhere: callers say which via the suffix rule.
            multiplier = 1;
        }

        if (!ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) || n > ulong.MaxValue / multiplier)
        {
            return false;
        }

        bytes = n * multiplier;
        return true;
    }

    /// <summary>Parses <c>-m</c>: a bare number means MiB, as in QEMU.</summary>
    public static bool TryParseMemory(string text, out ulong bytes)
    {
        if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong mib))
        {
            bytes = mib << 20;
            return mib <= (1UL << 20);
        }

        return TryParseSize(text, out bytes);
    }
}
