using ManagedVmm.Core;
using ManagedVmm.Devices.Platform.DebugExit;

namespace ManagedVmm.Machine.Tests.Platform;

public sealed class DebugExitTests
{
    [TestCase(1, 0x00u, 1)]
    [TestCase(1, 0x10u, 0x21)]
    [TestCase(2, 0x1234u, 0x2469)]
    [TestCase(4, 0x7FFF_FFFFu, -1)]
    [TestCase(4, 0x8000_0000u, 1)]
    public void WriteOfV_StopsWithStatusVShiftedLeftOrOne(int width, uint value, int status)
    {
        using var h = BootHarness.Create();
        h.Machine.Ports.Out(0xF4, width, value);
        var stop = h.Machine.Stop;
        Assert.Multiple(() =>
        {
            Assert.That(stop.IsRequested, Is.True);
            Assert.That(stop.Reason, Is.EqualTo(VmStopReason.DebugExit));
            Assert.That(stop.ExitStatus, Is.EqualTo(status));
            Assert.That(stop.ExitStatus, Is.EqualTo(DebugExitDevice.StatusFor(value)));
        });
    }

    [TestCase((ushort)0xF5)]
    [TestCase((ushort)0xF7)]
    public void AnyOfTheFourPorts_Counts(ushort port)
    {
        using var h = BootHarness.Create();
        h.OutB(port, 3);
        Assert.That(h.Machine.Stop.ExitStatus, Is.EqualTo(7));
    }

    [Test]
    public void FirstWriteWins()
    {
        using var h = BootHarness.Create();
        h.OutB(0xF4, 1);
        h.OutB(0xF4, 2);
        Assert.That(h.Machine.Stop.ExitStatus, Is.EqualTo(3));
    }

    [Test]
    public void Read_ReturnsZeroAndDoesNotStop()
    {
        using var h = BootHarness.Create();
        Assert.Multiple(() =>
        {
            Assert.That(h.InL(0xF4), Is.Zero);
            Assert.That(h.Machine.Stop.IsRequested, Is.False);
        });
    }
}
