using System.Globalization;
using System.Reflection;

namespace ManagedVmm.Cli.Devices;

/// <summary>
/// Sets the public settable properties of a device's options object from a <see cref="DeviceSpec"/>, so that
/// every option a plugin exposes is reachable from the command line without parsing code per device. Values:
/// booleans <c>on/off/true/false/yes/no/1/0</c>; integers in decimal or <c>0x</c> hex, with a size suffix
/// (<c>K</c>, <c>M</c>, <c>G</c>, <c>T</c>) for unsigned 64-bit options; enums by name; strings as given.
/// An unknown key or a bad value is an error that names the valid keys.
/// </summary>
public static class OptionsBinder
{
    public static bool TryBind(object options, DeviceSpec spec, out string? error)
    {
        var properties = options.GetType()
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.SetMethod!.IsPublic && IsSupported(p.PropertyType))
            .ToDictionary(p => DeviceSpec.NormalizeKey(p.Name));
        foreach (var (key, value) in spec.Properties)
        {
            if (!properties.TryGetValue(DeviceSpec.NormalizeKey(key), out var property))
            {
                error = $"{spec.Driver}: unknown property '{key}' (valid: {string.Join(", ", properties.Values.Select(p => Kebab(p.Name)).Order())})";
                return false;
            }

            if (!TryConvert(value, property.PropertyType, out object? converted))
            {
                error = $"{spec.Driver}: '{value}' is not a valid {Describe(property.PropertyType)} for '{key}'";
                return false;
            }

            property.SetValue(options, converted);
        }

        error = null;
        return true;
    }

    /// <summary>
    /// Copies every public read/write property of <paramref name="source"/> onto <paramref name="target"/> (same
    /// type): how options bound from the command line reach a plugin whose <c>AddXxx</c> takes a configure action.
    /// </summary>
    public static void CopyProperties(object source, object target)
    {
        foreach (var p in source.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.CanRead && p.CanWrite && p.SetMethod!.IsPublic && p.GetIndexParameters().Length == 0)
            {
                p.SetValue(target, p.GetValue(source));
            }
        }
    }

    /// <summary>The kebab-case name users type: <c>PageSizeMask</c> → <c>page-size-mask</c>.</summary>
    public static string Kebab(string name)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && !char.IsUpper(name[i - 1]))
            {
                sb.Append('-');
            }

            sb.Append(char.ToLowerInvariant(name[i]));
        }

        return sb.ToString();
    }

    private static bool IsSupported(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(bool) || type == typeof(string) || type.IsEnum || type == typeof(int) || type == typeof(uint)
            || type == typeof(long) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(byte) || type == typeof(double);
    }

    private static bool TryConvert(string text, Type type, out object? value)
    {
        value = null;
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying != null)
        {
            if (text.Length == 0 || text.Equals("none", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            type = underlying;
        }

        if (type == typeof(string))
        {
            value = text;
            return true;
        }

        if (type == typeof(bool))
        {
            switch (text.ToLowerInvariant())
            {
                case "on" or "true" or "yes" or "1":
                    value = true;
                    return true;
                case "off" or "false" or "no" or "0":
                    value = false;
                    return true;
                default:
                    return false;
            }
        }

        if (type.IsEnum)
        {
            bool ok = Enum.TryParse(type, text.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out value)
                && Enum.IsDefined(type, value!);
            return ok;
        }

        if (type == typeof(double))
        {
            bool ok = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d);
            value = d;
            return ok;
        }

        if (!TryParseInteger(text, out ulong magnitude, out bool negative))
        {
            return false;
        }

        try
        {
            value = type switch
            {
                _ when type == typeof(ulong) && !negative => magnitude,
                _ when type == typeof(long) => negative ? checked(-(long)magnitude) : checked((long)magnitude),
                _ when type == typeof(int) => negative ? checked(-(int)magnitude) : checked((int)magnitude),
                _ when type == typeof(uint) && !negative => checked((uint)magnitude),
                _ when type == typeof(ushort) && !negative => checked((ushort)magnitude),
                _ when type == typeof(byte) && !negative => checked((byte)magnitude),
                _ => null,
            };
        }
        catch (OverflowException)
        {
            return false;
        }

        return value != null;
    }

    private static bool TryParseInteger(string text, out ulong magnitude, out bool negative)
    {
        magnitude = 0;
        negative = text.StartsWith('-');
        string body = negative ? text[1..] : text;
        if (body.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return ulong.TryParse(body[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out magnitude);
        }

        return MachineOptionParsing.TryParseSize(body, out magnitude);
    }

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(bool) ? "on/off value"
            : type.IsEnum ? $"choice ({string.Join("|", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))})"
            : type == typeof(string) ? "text" : $"number ({type.Name})";
    }
}
