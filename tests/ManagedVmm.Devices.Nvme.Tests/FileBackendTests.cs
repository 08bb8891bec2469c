using ManagedVmm.Devices.Nvme.Spec;
using ManagedVmm.Testing;

namespace ManagedVmm.Devices.Nvme.Tests;

public sealed class FileBackendTests
{
    private string _dir = null!;

    [SetUp]
    public void CreateTempDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "mvmm-nvme-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void DeleteTempDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void WriteFlushDisposeReopen_ReadsBackTheSameBytes()
    {
        string image = Path.Combine(_dir, "disk.img");
        var data = NvmeRig.Pattern(64 * 1024, 42);
        using (var rig = NvmeRig.BroughtUp(o => { o.File = image; o.Size = 4UL << 20; }))
        {
            rig.WriteBlocks(1000, data);
            Expect.Status(rig.Driver.Flush(1), NvmeStatus.Success);
        }

        Assert.That(new FileInfo(image).Length, Is.EqualTo(4L << 20));
        var onDisk = new byte[data.Length];
        using (var f = File.OpenRead(image))
        {
            f.Position = 1000 * 512;
            f.ReadExactly(onDisk);
        }

        Assert.That(onDisk, Is.EqualTo(data), "the bytes are in the file itself");

        using var again = NvmeRig.BroughtUp(o => { o.File = image; o.Size = 0; });
        Assert.That(again.Nvme.Snapshot().Namespace.Blocks, Is.EqualTo((4UL << 20) / 512), "size taken from the file");
        Assert.That(again.ReadBlocks(1000, 128), Is.EqualTo(data));
    }

    [Test]
    public void ReadOnlyImage_IsServedButNeverWritten()
    {
        string image = Path.Combine(_dir, "ro.img");
        File.WriteAllBytes(image, NvmeRig.Pattern(1 << 20, 5));
        using var rig = NvmeRig.BroughtUp(o => { o.File = image; o.Size = 0; o.ReadOnly = true; });
        Assert.That(rig.ReadBlocks(0, 8), Is.EqualTo(NvmeRig.Pattern(1 << 20, 5).AsSpan(0, 4096).ToArray()));
        ulong buf = rig.Alloc(512);
        Expect.Status(rig.Driver.Write(1, 0, 1, buf, 512), NvmeStatus.NamespaceWriteProtected | NvmeStatus.Dnr);
        Assert.That(File.ReadAllBytes(image), Is.EqualTo(NvmeRig.Pattern(1 << 20, 5)));
    }

    private static IEnumerable<TestCaseData> BadImages()
    {
        yield return new TestCaseData("wrong-size", (Action<string>)(p => File.WriteAllBytes(p, new byte[8192])), 1UL << 20, false, "8192 bytes").SetName("ExistingImageOfAnotherSize_IsAClearError");
        yield return new TestCaseData("odd-size", (Action<string>)(p => File.WriteAllBytes(p, new byte[1000])), 0UL, false, "multiple of the LBA size").SetName("ImageNotAMultipleOfTheLbaSize_IsAClearError");
        yield return new TestCaseData("missing-ro", (Action<string>)(_ => { }), 1UL << 20, true, "does not exist").SetName("MissingReadOnlyImage_IsAClearError");
        yield return new TestCaseData("missing-nosize", (Action<string>)(_ => { }), 0UL, false, "no size").SetName("MissingImageWithoutSize_IsAClearError");
        yield return new TestCaseData("a-directory", (Action<string>)(p => Directory.CreateDirectory(p)), 1UL << 20, false, "cannot open").SetName("DirectoryAsImage_IsAClearError");
    }

    [TestCaseSource(nameof(BadImages))]
    public void UnusableImage_FailsAtStartUp_NamingTheCause(string name, Action<string> prepare, ulong size, bool readOnly, string expected)
    {
        string path = Path.Combine(_dir, name);
        prepare(path);
        var e = Assert.Throws<NvmeConfigurationException>(() => new NvmeController(new NvmeOptions { File = path, Size = size, ReadOnly = readOnly }, new Core.Time.EventScheduler()));
        Assert.That(e!.Message, Does.Contain(expected));
        Assert.That(e.Message, Does.Contain(name));
    }

    [Test]
    public void UnusableImage_InAMachine_FailsWhenTheMachineIsBuilt()
    {
        string path = Path.Combine(_dir, "nope", "disk.img");
        var e = Assert.Throws<NvmeConfigurationException>(() => MachineHarness.Create(s => s.AddNvme(o => { o.File = path; o.ReadOnly = true; })));
        Assert.That(e!.Message, Does.Contain("does not exist"));
    }

    [TestCase(1000UL, 512)]
    [TestCase(512UL, 4096)]
    [TestCase(1UL << 20, 1024)]
    public void InvalidOptions_AreAClearError(ulong size, int lba)
    {
        Assert.Throws<NvmeConfigurationException>(() => new NvmeController(new NvmeOptions { Size = size, LbaSize = lba }, new Core.Time.EventScheduler()));
    }

    [Test]
    public void ControllerReset_LeavesTheFileOpen_AndDisposeClosesIt()
    {
        string image = Path.Combine(_dir, "disk.img");
        var rig = NvmeRig.BroughtUp(o => { o.File = image; o.Size = 1UL << 20; });
        rig.Driver.Disable();
        rig.Driver.BringUp();
        rig.WriteBlocks(0, NvmeRig.Pattern(512, 1));
        rig.Dispose();
        rig.Nvme.Dispose();
        using var f = File.Open(image, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        Assert.That(f.Length, Is.EqualTo(1L << 20));
    }
}
