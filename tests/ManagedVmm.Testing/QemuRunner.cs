using System.Diagnostics;

namespace ManagedVmm.Testing;

/// <summary>What a QEMU run left behind: whether it stopped in time, its exit status and its output.</summary>
public sealed record QemuResult(bool TimedOut, int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Runs <c>qemu-system-x86_64</c> for the cross-check tests: finds it on PATH (null when it is not installed, so the
/// test can be ignored), runs it with the given arguments, and kills it if it has not stopped in time.
/// </summary>
public static class QemuRunner
{
    public const string Executable = "qemu-system-x86_64";

    public static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(dir, Executable);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static QemuResult Run(string qemu, IEnumerable<string> arguments, int timeoutMs)
    {
        var psi = new ProcessStartInfo(qemu) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        bool timedOut = !p.WaitForExit(timeoutMs);
        if (timedOut)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }

        return new QemuResult(timedOut, timedOut ? -1 : p.ExitCode, stdout.Result, stderr.Result);
    }
}
