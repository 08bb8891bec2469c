namespace ManagedVmm.Machine.Tests;

/// <summary>The committed guest images, copied beside the test assembly.</summary>
internal static class GuestImages
{
    public static string PathOf(string image) =>
        Path.Combine(TestContext.CurrentContext.TestDirectory, "guest-images", image, image + ".elf");

    public static byte[] Read(string image) => File.ReadAllBytes(PathOf(image));
}
