using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Core.Memory;
using ManagedVmm.Pci.Msix;
using ManagedVmm.Pci.Spec;

namespace ManagedVmm.Pci;

/// <summary>
/// A type-0 PCI function: its configuration space (identity, command/status, BARs, capability list), its BAR
/// windows, and optionally MSI-X. Device plugins derive from it, declare BARs and capabilities in their
/// constructor, and receive the DMA seam and MSI sink when the bus places them (<see cref="Place"/>).
/// <para>
/// Guest configuration writes go through the masks of <see cref="PciConfigSpace"/>; a write to Command or a BAR
/// raises <see cref="DecodeChanged"/> so the bus re-maps the windows. DMA is possible only through
/// <see cref="Dma"/>, which is blocked while Command.BusMaster is clear.
/// </para>
/// </summary>
public abstract class PciFunction : IResettable
{
    private readonly PciBar?[] _bars = new PciBar?[PciConfig.BarCount];
    private readonly PciConfigSpace _powerOnConfig = new();
    private PciPlatform? _platform;
    private IGuestMemoryView? _dma;
    private long _accessCostNs;

    protected PciFunction(string name, PciIdentity identity)
    {
        Name = name;
        Identity = identity;
        Capabilities = new PciCapabilityList(Config);
        Config.SetUInt16(PciConfig.VendorId, identity.VendorId);
        Config.SetUInt16(PciConfig.DeviceId, identity.DeviceId);
        Config.SetByte(PciConfig.RevisionId, identity.Revision);
        Config.SetByte(PciConfig.ClassCode, identity.ProgrammingInterface);
        Config.SetByte(PciConfig.ClassCode + 1, identity.SubClass);
        Config.SetByte(PciConfig.ClassCode + 2, identity.BaseClass);
        Config.SetUInt16(PciConfig.SubsystemVendorId, identity.SubsystemVendorId);
        Config.SetUInt16(PciConfig.SubsystemId, identity.SubsystemId);
        Config.SetByte(PciConfig.InterruptPin, identity.InterruptPin);
        Config.SetWritable(PciConfig.Command, 2, (ulong)PciCommand.Writable);
        Config.SetWriteOneToClear(PciConfig.Status, 2, (ulong)PciStatus.WriteOneToClear);
        Config.SetWritable(PciConfig.CacheLineSize, 1, 0xFF);
        Config.SetWritable(PciConfig.LatencyTimer, 1, 0xFF);
        Config.SetWritable(PciConfig.InterruptLine, 1, 0xFF);
    }

    /// <summary>A short name for listings and logs ("nvme", "virtio-iommu-pci").</summary>
    public string Name { get; }

    public PciIdentity Identity { get; }

    public PciConfigSpace Config { get; } = new();

    public PciCapabilityList Capabilities { get; }

    /// <summary>The device number the function asks for on bus 0; null takes the next free slot.</summary>
    public int? PreferredDevice { get; set; }

    /// <summary>Where the bus placed the function; valid once <see cref="IsPlaced"/>.</summary>
    public Bdf Address { get; private set; }

    public bool IsPlaced => _platform != null;

    /// <summary>The six BAR slots; a 64-bit BAR's upper slot is null.</summary>
    public IReadOnlyList<PciBar?> Bars => _bars;

    public MsixCapability? Msix { get; private set; }

    public PciCommand Command => (PciCommand)Config.GetUInt16(PciConfig.Command);

    public bool BusMasterEnabled => (Command & PciCommand.BusMaster) != 0;

    /// <summary>
    /// Virtual time (ns) charged to the accessing vCPU for each access to this function's memory BARs: a VM exit
    /// when the VMM emulates the function, a plain MMIO when it is passed through (ARCHITECTURE §6). 0 (the
    /// default) charges nothing and maps the BAR handlers undecorated. Changing it re-maps the windows.
    /// </summary>
    public long AccessCostNs
    {
        get => _accessCostNs;
        set
        {
            if (value < 0)
            {
                ThrowHelper.ThrowArgument(nameof(value), "an access cost cannot be negative");
            }

            if (value != _accessCostNs)
            {
                _accessCostNs = value;
                DecodeChanged?.Invoke(this);
            }
        }
    }

    /// <summary>Raised when Command or a BAR changes, so the bus re-maps this function's windows.</summary>
    public event Action<PciFunction>? DecodeChanged;

    /// <summary>
    /// The function's DMA view: translated by an IOMMU if one covers it, identity otherwise, and blocked while
    /// bus mastering is off. Valid once placed.
    /// </summary>
    protected IGuestMemoryView Dma => _dma ?? ThrowNotPlaced<IGuestMemoryView>();

    protected GuestErrorLog GuestErrors => _platform?.GuestErrors ?? ThrowNotPlaced<GuestErrorLog>();

    /// <summary>Called once by the bus (or a test bed) to give the function its address and platform.</summary>
    public void Place(Bdf address, PciPlatform platform)
    {
        if (_platform != null)
        {
            ThrowHelper.ThrowInvalidOperation($"{Name} is already placed at {Address}");
        }

        Address = address;
        _platform = platform;
        OnPlacing(platform);
        _powerOnConfig.CopyFrom(Config);
        _dma = new BusMasterGatedMemory(this, platform.DmaMemory.ForRequester(address));
        OnPlaced();
    }

    /// <summary>Reads configuration space as the guest sees it.</summary>
    public void ReadConfig(int offset, Span<byte> data)
    {
        OnConfigReading(offset, data.Length);
        Config.Read(offset, data);
    }

    /// <summary>Writes configuration space through the masks, then lets the bus and the device react.</summary>
    public void WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        bool msixControlBefore = Msix?.Enabled ?? false;
        bool msixMaskBefore = Msix?.FunctionMasked ?? false;
        Config.Write(offset, data);
        int end = offset + data.Length;
        if (Overlaps(offset, end, PciConfig.Command, 2) || Overlaps(offset, end, PciConfig.Bar0, 4 * PciConfig.BarCount))
        {
            DecodeChanged?.Invoke(this);
        }

        if (Msix != null && (Msix.Enabled != msixControlBefore || Msix.FunctionMasked != msixMaskBefore))
        {
            Msix.OnControlChanged();
        }

        OnConfigWritten(offset, data.Length);
    }

    /// <summary>Guest-visible address of a BAR as programmed (not necessarily decoded).</summary>
    public ulong BarAddress(int index)
    {
        var bar = _bars[index];
        if (bar == null)
        {
            return 0;
        }

        uint low = Config.GetUInt32(PciConfig.BarOffset(index));
        return bar.Kind switch
        {
            PciBarKind.Io => low & PciBarBits.IoAddressMask & 0xFFFF,
            PciBarKind.Memory32 => low & PciBarBits.MemoryAddressMask,
            _ => (low & PciBarBits.MemoryAddressMask) | ((ulong)Config.GetUInt32(PciConfig.BarOffset(index + 1)) << 32),
        };
    }

    /// <summary>System reset restores power-on configuration space (BARs, command, MSI-X); both kinds reach the device.</summary>
    public void Reset(ResetKind kind)
    {
        if (kind == ResetKind.System && _platform != null)
        {
            Config.CopyFrom(_powerOnConfig);
            Msix?.Reset();
            DecodeChanged?.Invoke(this);
        }

        OnReset(kind);
    }

    /// <summary>Sends an MSI on behalf of this function (MSI-X calls this). Blocked without bus mastering.</summary>
    internal void SendMsi(MsiMessage message)
    {
        if (!BusMasterEnabled)
        {
            ReportGuestError($"MSI {message} with bus mastering disabled: dropped");
            return;
        }

        (_platform ?? ThrowNotPlaced<PciPlatform>()).MsiSink.Signal(Address, message);
    }

    internal void ReportGuestError(string message) => _platform?.GuestErrors.Report($"{Address} {Name}", message);

    /// <summary>Declares a memory BAR of <paramref name="size"/> bytes (a power of two, at least 16).</summary>
    protected PciBar AddMemoryBar(int index, ulong size, IMmioDevice handler, bool is64Bit, bool prefetchable = false)
    {
        CheckBarSlot(index, is64Bit ? 2 : 1);
        if (size < 16 || (size & (size - 1)) != 0)
        {
            ThrowHelper.ThrowArgument(nameof(size), $"BAR size 0x{size:x} is not a power of two of at least 16");
        }

        var bar = new PciBar(index, is64Bit ? PciBarKind.Memory64 : PciBarKind.Memory32, size, prefetchable, handler, null);
        _bars[index] = bar;
        ulong addressMask = ~(size - 1);
        uint typeBits = (is64Bit ? PciBarBits.Memory64 : 0) | (prefetchable ? PciBarBits.Prefetchable : 0);
        Config.SetUInt32(PciConfig.BarOffset(index), typeBits);
        Config.SetWritable(PciConfig.BarOffset(index), 4, addressMask & PciBarBits.MemoryAddressMask);
        if (is64Bit)
        {
            Config.SetWritable(PciConfig.BarOffset(index + 1), 4, addressMask >> 32);
        }
        else if (size > 0x8000_0000)
        {
            ThrowHelper.ThrowArgument(nameof(size), "a 32-bit BAR cannot exceed 2 GiB");
        }

        return bar;
    }

    /// <summary>Declares an I/O BAR of <paramref name="size"/> ports (a power of two, 4 to 256).</summary>
    protected PciBar AddIoBar(int index, ulong size, IPortIoDevice handler)
    {
        CheckBarSlot(index, 1);
        if (size is < 4 or > 256 || (size & (size - 1)) != 0)
        {
            ThrowHelper.ThrowArgument(nameof(size), $"I/O BAR size 0x{size:x} is not a power of two from 4 to 256");
        }

        var bar = new PciBar(index, PciBarKind.Io, size, false, null, handler);
        _bars[index] = bar;
        Config.SetUInt32(PciConfig.BarOffset(index), PciBarBits.IoSpace);
        Config.SetWritable(PciConfig.BarOffset(index), 4, ~(size - 1) & PciBarBits.IoAddressMask & 0xFFFF);
        return bar;
    }

    /// <summary>
    /// Adds the MSI-X capability with <paramref name="vectors"/> table entries. The caller maps
    /// <see cref="MsixCapability.Table"/> and <see cref="MsixCapability.PendingBits"/> into its BARs at the
    /// offsets given here.
    /// </summary>
    protected MsixCapability AddMsix(int vectors, int tableBar, uint tableOffset, int pbaBar, uint pbaOffset)
    {
        if (Msix != null)
        {
            ThrowHelper.ThrowInvalidOperation("a function has at most one MSI-X capability");
        }

        Msix = MsixCapability.Add(this, vectors, tableBar, tableOffset, pbaBar, pbaOffset);
        return Msix;
    }

    /// <summary>
    /// Called during placement once <see cref="Address"/> is known, before the function's DMA view is made. An
    /// IOMMU uses it to learn its own address, so that the DMA seam does not put the IOMMU behind itself.
    /// </summary>
    protected virtual void OnPlacing(PciPlatform platform)
    {
    }

    /// <summary>Called after placement; the DMA view and MSI sink are available from here on.</summary>
    protected virtual void OnPlaced()
    {
    }

    /// <summary>Called before a guest configuration read, for registers computed on demand.</summary>
    protected virtual void OnConfigReading(int offset, int length)
    {
    }

    /// <summary>Called after a guest configuration write, for device-specific registers and capabilities.</summary>
    protected virtual void OnConfigWritten(int offset, int length)
    {
    }

    /// <summary>The device's own reset behaviour.</summary>
    protected virtual void OnReset(ResetKind kind)
    {
    }

    private void CheckBarSlot(int index, int slots)
    {
        if (index < 0 || index + slots > PciConfig.BarCount || _bars[index] != null || (index > 0 && _bars[index - 1]?.Kind == PciBarKind.Memory64))
        {
            ThrowHelper.ThrowArgument(nameof(index), $"BAR slot {index} is not free for {Name}");
        }
    }

    private static bool Overlaps(int start, int end, int regStart, int regLength) => start < regStart + regLength && regStart < end;

    private T ThrowNotPlaced<T>()
    {
        ThrowHelper.ThrowInvalidOperation($"{Name} has not been placed on a PCI bus yet");
        return default!;
    }
}
