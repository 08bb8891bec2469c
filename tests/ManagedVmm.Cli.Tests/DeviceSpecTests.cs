using ManagedVmm.Cli.Devices;

namespace ManagedVmm.Cli.Tests;

public sealed class DeviceSpecTests
{
    private enum Mode
    {
        Fast,
        Careful,
    }

    private sealed class SampleOptions
    {
        public ulong Size { get; set; }

        public int? Slot { get; set; }

        public bool ReadOnly { get; set; }

        public string? File { get; set; }

        public Mode Mode { get; set; }

        public uint PageSizeMask { get; set; }

        public double Ratio { get; set; }
    }

    [Test]
    public void Parse_DriverAndProperties()
    {
        Assert.That(DeviceSpec.TryParse("nvme,size=64M,file=disk.img,read-only", out var spec, out _), Is.True);
        Assert.That(spec!.Driver, Is.EqualTo("nvme"));
        Assert.That(spec.Properties.Select(p => $"{p.Key}={p.Value}"), Is.EqualTo(new[] { "size=64M", "file=disk.img", "read-only=on" }));
    }

    [TestCase("")]
    [TestCase(",size=1")]
    [TestCase("nvme,,size=1")]
    [TestCase("nvme,=3")]
    public void Parse_Malformed_IsAnError(string text)
    {
        Assert.That(DeviceSpec.TryParse(text, out _, out string? error), Is.False);
        Assert.That(error, Is.Not.Empty);
    }

    [Test]
    public void Bind_SetsEveryKindOfProperty()
    {
        DeviceSpec.TryParse("x,size=64M,slot=4,read_only=on,file=a.img,mode=careful,page-size-mask=0xfffff000,ratio=1.5", out var spec, out _);
        var o = new SampleOptions();
        Assert.That(OptionsBinder.TryBind(o, spec!, out string? error), Is.True, error);
        Assert.That((o.Size, o.Slot, o.ReadOnly, o.File, o.Mode, o.PageSizeMask, o.Ratio),
            Is.EqualTo((64UL << 20, (int?)4, true, "a.img", Mode.Careful, 0xFFFF_F000u, 1.5)));
    }

    [TestCase("x,colour=red", "unknown property 'colour'")]
    [TestCase("x,size=lots", "not a valid number")]
    [TestCase("x,slot=99999999999", "not a valid number")]
    [TestCase("x,read-only=maybe", "on/off")]
    [TestCase("x,mode=reckless", "fast|careful")]
    [TestCase("x,size=-1", "not a valid")]
    public void Bind_BadInput_NamesTheProblem(string text, string expected)
    {
        DeviceSpec.TryParse(text, out var spec, out _);
        Assert.That(OptionsBinder.TryBind(new SampleOptions(), spec!, out string? error), Is.False);
        Assert.That(error, Does.Contain(expected));
    }

    [Test]
    public void Bind_UnknownKey_ListsValidKeysInKebabCase()
    {
        DeviceSpec.TryParse("x,nope=1", out var spec, out _);
        OptionsBinder.TryBind(new SampleOptions(), spec!, out string? error);
        Assert.That(error, Does.Contain("page-size-mask").And.Contain("read-only"));
    }
}
