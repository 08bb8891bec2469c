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

    /// <summary>
    /// Parses a virtual duration: a number with a unit <c>ns</c>, <c>us</c>, <c>ms</c>, <c>s</c>, <c>m</c> (minutes),
    /// fractions allowed (<c>1.5s</c>); a bare number is seconds. Must be positive.
    /// </summary>
    public static bool TryParseDuration(string text, out long nanoseconds)
    {
        nanoseconds = 0;
        text = text.Trim();
        (string unit, long scale)[] units = [("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000)];
        long multiplier = 1_000_000_000;
        foreach (var (unit, scale) in units)
        {
            if (text.EndsWith(unit, StringComparison.OrdinalIgnoreCase))
            {
                multiplier = scale;
                text = text[..^unit.Length];
                break;
            }
        }

        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
        {
            return false;
        }

        decimal ns = value * multiplier;
        if (ns < 1 || ns > long.MaxValue)
        {
            return false;
        }

        nanoseconds = (long)ns;
        return true;
    }

    /// <summary>Parses a count: digits with an optional decimal suffix <c>k</c> (10^3), <c>M</c> (10^6) or <c>G</c> (10^9). Must be positive.</summary>
    public static bool TryParseCount(string text, out long count)
    {
        count = 0;
        text = text.Trim();
        if (text.Length == 0)
        {
            return false;
        }

        long multiplier = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 1_000,
            'M' => 1_000_000,
            'G' => 1_000_000_000,
            _ => 1,
        };
        string digits = multiplier == 1 ? text : text[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0 || n > long.MaxValue / multiplier)
        {
            return false;
        }

        count = n * multiplier;
        return true;
    }
}
