using System.Diagnostics;
using System.Text;

namespace ManagedVmm.Machine.Tests.Running;

/// <summary>
/// Differential tests (guest-images/difftest): the same C program compiled with gcc for the host and as a guest
/// image; the guest's serial output must equal the host program's stdout byte for byte. The host build is compiled
/// here, at test time, into a temporary directory with the flags of the guest-images Makefile
/// (<c>DIFFTEST_HOST_CFLAGS</c>); without gcc, or on a host without POPCNT/BMI1, the test is ignored with the reason.
/// </summary>
[NonParallelizable]
public sealed class DifferentialTests
{
    private static readonly string[] HostFlags = ["-std=gnu11", "-O2", "-mpopcnt", "-mbmi", "-DDIFFTEST_HOST", "-Wall", "-Wextra", "-Werror"];

    private string _tempDir = string.Empty;

    [OneTimeSetUp]
    public void CreateTempDir() => _tempDir = Directory.CreateTempSubdirectory("mvmm-difftest-").FullName;

    [OneTimeTearDown]
    public void DeleteTempDir() => Directory.Delete(_tempDir, recursive: true);

    [TestCase("intmath")]
    [TestCase("hashsort")]
    [TestCase("dispatch")]
    public void GuestSerialOutput_EqualsHostStdout(string program)
    {
        byte[] expected = RunOnHost(program);
        var (result, console) = GuestRunner.Run($"difftest/{program}.elf");

        Assert.That(result.ExitStatus, Is.EqualTo(1), $"{result.Describe()}: {result.Message}");
        Assert.That(result.GuestErrors, Is.Zero, "no guest errors (an unimplemented instruction would be one)");
        byte[] actual = console.ToArray();
        if (!actual.AsSpan().SequenceEqual(expected))
        {
            Assert.That(Encoding.UTF8.GetString(actual), Is.EqualTo(Encoding.UTF8.GetString(expected)), "guest vs host output");
        }

        Assert.That(Encoding.UTF8.GetString(actual), Does.EndWith($"{program}: done\n"));
    }

    private byte[] RunOnHost(string program)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/cpuinfo"))
        {
            Assert.Ignore("differential tests need an x86-64 Linux host");
        }

        string flags = File.ReadAllText("/proc/cpuinfo");
        if (!flags.Contains(" popcnt", StringComparison.Ordinal) || !flags.Contains(" bmi1", StringComparison.Ordinal))
        {
            Assert.Ignore("the host processor lacks POPCNT or BMI1, which the differential programs are compiled for");
        }

        string source = Path.Combine(RepositoryRoot(), "guest-images", "difftest", program + ".c");
        string binary = Path.Combine(_tempDir, program);
        var (gccExit, _, gccErr) = Exec("gcc", [.. HostFlags, "-o", binary, source], ignoreIfMissing: true);
        Assert.That(gccExit, Is.Zero, $"gcc failed: {gccErr}");
        var (exit, stdout, _) = Exec(binary, []);
        Assert.That(exit, Is.Zero, "host program exit status");
        return stdout;
    }

    private static (int Exit, byte[] Stdout, string Stderr) Exec(string file, string[] args, bool ignoreIfMissing = false)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception) when (ignoreIfMissing)
        {
            Assert.Ignore($"{file} is not installed: the differential tests need gcc to build the host programs");
            throw;
        }

        using (process)
        {
            var stderrTask = process.StandardError.ReadToEndAsync();
            using var ms = new MemoryStream();
            process.StandardOutput.BaseStream.CopyTo(ms);
            process.WaitForExit();
            return (process.ExitCode, ms.ToArray(), stderrTask.Result);
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "guest-images", "Makefile")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("guest-images/Makefile not found above the test directory");
    }
}
