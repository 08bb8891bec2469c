using System.Diagnostics.CodeAnalysis;

namespace ManagedVmm.Core;

/// <summary>
/// Throws for host bugs (a caller breaking a contract), kept out of line so hot paths stay small, as Iced does.
/// Guest mistakes never come here: they go to <see cref="Diagnostics.GuestErrorLog"/>.
/// </summary>
public static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowArgumentOutOfRange(string paramName, string message) =>
        throw new ArgumentOutOfRangeException(paramName, message);

    [DoesNotReturn]
    public static void ThrowArgument(string paramName, string message) =>
        throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    public static void ThrowInvalidOperation(string message) =>
        throw new InvalidOperationException(message);
}
