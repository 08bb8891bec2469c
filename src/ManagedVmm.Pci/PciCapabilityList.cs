using ManagedVmm.Pci.Spec;

namespace ManagedVmm.Pci;

/// <summary>
/// Builds the capability list in configuration space (PCI 3.0 §6.7): each capability is placed after the
/// previous one, 4-byte aligned, linked through its next pointer, and announced by Status.CapabilitiesList and
/// the capabilities pointer at 0x34. Also walks a list for the inspector and tests.
/// </summary>
public sealed class PciCapabilityList
{
    private readonly PciConfigSpace _config;
    private int _nextFree = PciConfig.CapabilitiesStart;
    private int _last;

    public PciCapabilityList(PciConfigSpace config) => _config = config;

    /// <summary>
    /// Adds a capability whose body (everything after the ID and next bytes) is <paramref name="body"/>.
    /// Returns the capability's offset in configuration space. The body is read-only unless the caller makes
    /// parts writable afterwards.
    /// </summary>
    public int Add(byte id, ReadOnlySpan<byte> body)
    {
        int length = 2 + body.Length;
        int offset = _nextFree;
        if (offset + length > PciConfig.LegacySize)
        {
            Core.ThrowHelper.ThrowInvalidOperation($"capability 0x{id:x2} does not fit below 0x100");
        }

        _config.SetByte(offset, id);
        _config.SetByte(offset + 1, 0);
        for (int i = 0; i < body.Length; i++)
        {
            _config.SetByte(offset + 2 + i, body[i]);
        }

        if (_last == 0)
        {
            _config.SetByte(PciConfig.CapabilitiesPointer, (byte)offset);
            _config.SetUInt16(PciConfig.Status, (ushort)(_config.GetUInt16(PciConfig.Status) | (ushort)PciStatus.CapabilitiesList));
        }
        else
        {
            _config.SetByte(_last + 1, (byte)offset);
        }

        _last = offset;
        _nextFree = (offset + length + 3) & ~3;
        return offset;
    }

    /// <summary>
    /// Walks the list as a driver would: (offset, id) pairs. Stops at a null pointer, a pointer into the header,
    /// or after 48 entries (the most that fit in 192 bytes), so a corrupt list cannot loop.
    /// </summary>
    public static IReadOnlyList<(int Offset, byte Id)> Walk(PciConfigSpace config)
    {
        var result = new List<(int, byte)>();
        if ((config.GetUInt16(PciConfig.Status) & (ushort)PciStatus.CapabilitiesList) == 0)
        {
            return result;
        }

        int pointer = config.GetByte(PciConfig.CapabilitiesPointer) & 0xFC;
        while (pointer >= PciConfig.CapabilitiesStart && result.Count < 48)
        {
            result.Add((pointer, config.GetByte(pointer)));
            pointer = config.GetByte(pointer + 1) & 0xFC;
        }

        return result;
    }
}
