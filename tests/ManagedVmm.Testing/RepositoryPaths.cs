namespace ManagedVmm.Testing;

/// <summary>Where the repository is, for tests that read committed files (guest images, firmware, build.ps1).</summary>
public static class RepositoryPaths
{
    /// <summary>The directory holding ManagedVmm.sln, found by walking up from the test assembly's directory.</summary>
    public static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "ManagedVmm.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("ManagedVmm.sln not found above the test directory");
    }
}
