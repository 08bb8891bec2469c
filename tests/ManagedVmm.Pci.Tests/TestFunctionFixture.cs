using ManagedVmm.Core;
using ManagedVmm.Testing;

namespace ManagedVmm.Pci.Tests;

/// <summary>A <see cref="TestFunction"/> placed at 00:03.0 on a fresh <see cref="PciTestBed"/> for each test.</summary>
public abstract class TestFunctionFixture
{
    private protected PciTestBed Bed { get; private set; } = null!;

    private protected TestFunction Fn { get; private set; } = null!;

    private protected Bdf Address { get; private set; }

    [SetUp]
    public void PlaceTestFunction()
    {
        Bed = new PciTestBed();
        Fn = new TestFunction();
        Address = Bed.Place(Fn, 3);
    }

    [TearDown]
    public void DisposeBed() => Bed.Dispose();
}
