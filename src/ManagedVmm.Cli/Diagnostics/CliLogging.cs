using System.Text.RegularExpressions;
using ManagedVmm.Core.Diagnostics;
using Microsoft.Extensions.Logging;

namespace ManagedVmm.Cli.Diagnostics;

/// <summary>
/// Logging for the CLI: guest errors and warnings always, trace events (Trace level under
/// <c>ManagedVmm.Trace</c>) only for the categories <c>--trace</c> names. Written synchronously to the error writer
/// as <c>[category] message</c>. The level is decided once per category, so a disabled trace event costs one branch.
/// </summary>
internal sealed class CliLoggerProvider : ILoggerProvider
{
    private readonly TextWriter _writer;
    private readonly TracePattern _trace;

    public CliLoggerProvider(TextWriter writer, TracePattern trace)
    {
        _writer = writer;
        _trace = trace;
    }

    public ILogger CreateLogger(string categoryName) =>
        new CategoryLogger(_writer, categoryName, _trace.Matches(categoryName) ? LogLevel.Trace : LogLevel.Warning);

    public void Dispose()
    {
        _writer.Flush();
    }

    private sealed class CategoryLogger(TextWriter writer, string category, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            string text = formatter(state, exception);
            int newline = text.IndexOf('\n', StringComparison.Ordinal);
            if (newline >= 0)
            {
                // One line per event (a triple fault's register dump is printed once, by the run command).
                text = text[..newline] + " [...]";
            }

            lock (writer)
            {
                writer.WriteLine($"[{category}] {text}");
            }
        }
    }
}

/// <summary>
/// The <c>--trace</c> pattern: comma-separated category names under <c>ManagedVmm.Trace</c> (the prefix may be left
/// out), each a prefix (<c>Nvme</c> matches <c>ManagedVmm.Trace.Nvme</c> and its sub-categories) or a glob with
/// <c>*</c> (<c>*Iommu*</c>); <c>all</c> or <c>*</c> enables every trace category. Matching ignores case.
/// </summary>
internal sealed class TracePattern
{
    private readonly Regex[] _patterns;

    private TracePattern(Regex[] patterns) => _patterns = patterns;

    public static TracePattern None { get; } = new([]);

    public static bool TryParse(string? text, out TracePattern pattern, out string? error)
    {
        pattern = None;
        error = null;
        if (text == null)
        {
            return true;
        }

        var list = new List<Regex>();
        foreach (string raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (raw.Length == 0 || raw.Any(c => !(char.IsLetterOrDigit(c) || c is '.' or '*' or '_' or '-')))
            {
                error = $"invalid trace pattern '{raw}' (expected category names or globs such as Nvme, VirtioIommu, *Iommu*, all)";
                return false;
            }

            string p = raw.Equals("all", StringComparison.OrdinalIgnoreCase) ? "*" : raw;
            if (!p.StartsWith(TraceCategories.Root, StringComparison.OrdinalIgnoreCase))
            {
                p = TraceCategories.Root + "." + p;
            }

            string regex = "^" + Regex.Escape(p).Replace("\\*", ".*", StringComparison.Ordinal) + (p.Contains('*', StringComparison.Ordinal) ? "$" : "(\\..*)?$");
            list.Add(new Regex(regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant));
        }

        pattern = new TracePattern([.. list]);
        return true;
    }

    public bool Matches(string category)
    {
        if (!category.StartsWith(TraceCategories.Root, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var r in _patterns)
        {
            if (r.IsMatch(category))
            {
                return true;
            }
        }

        return false;
    }
}
