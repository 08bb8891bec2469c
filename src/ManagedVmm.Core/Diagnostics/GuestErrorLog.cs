using Microsoft.Extensions.Logging;

namespace ManagedVmm.Core.Diagnostics;

/// <summary>
/// Where guest mistakes go (QEMU's <c>LOG_GUEST_ERROR</c>): an access nobody claims, a malformed request,
/// an index out of range. A guest error is a value, never an exception: the device answers with the status the
/// spec names, reports here, and carries on. The log counts every report, keeps the most recent ones for
/// <c>inspect</c> and tests, and forwards them to the <c>ManagedVmm.GuestError</c> logging category.
/// </summary>
public sealed partial class GuestErrorLog
{
    /// <summary>Recent reports kept in memory; bounded because a hostile guest can produce them at will.</summary>
    public const int RecentCapacity = 256;

    public const string Category = "ManagedVmm.GuestError";

    private readonly ILogger _logger;
    private readonly GuestError[] _recent = new GuestError[RecentCapacity];
    private int _next;

    public GuestErrorLog(ILoggerFactory? loggerFactory = null)
    {
        _logger = loggerFactory?.CreateLogger(Category) ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    /// <summary>Number of guest errors reported since the machine was built.</summary>
    public long Count { get; private set; }

    /// <summary>Records one guest error. <paramref name="source"/> names the device or bus.</summary>
    public void Report(string source, string message)
    {
        _recent[_next] = new GuestError(Count, source, message);
        _next = (_next + 1) % RecentCapacity;
        Count++;
        LogGuestError(_logger, source, message);
    }

    /// <summary>The most recent reports, oldest first (at most <see cref="RecentCapacity"/>).</summary>
    public IReadOnlyList<GuestError> Recent()
    {
        int available = (int)Math.Min(Count, RecentCapacity);
        var list = new List<GuestError>(available);
        int start = Count > RecentCapacity ? _next : 0;
        for (int i = 0; i < available; i++)
        {
            list.Add(_recent[(start + i) % RecentCapacity]);
        }

        return list;
    }

    /// <summary>True when any recent report's source and message contain the given text.</summary>
    public bool Contains(string text)
    {
        foreach (var e in Recent())
        {
            if (e.Source.Contains(text, StringComparison.Ordinal) || e.Message.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "guest error: {Source}: {Text}")]
    private static partial void LogGuestError(ILogger logger, string source, string text);
}

/// <summary>One guest error: its sequence number, the reporting device, and what happened.</summary>
public readonly record struct GuestError(long Sequence, string Source, string Message);
