using System.Buffers.Binary;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Pci.Spec;

namespace ManagedVmm.Pci.Msix;

/// <summary>
/// MSI-X (PCI 3.0 §6.8.2): the capability in configuration space (Message Control with Enable and Function
/// Mask, Table and PBA offset/BIR), the vector table (address, data, per-vector mask) and the pending-bit array,
/// both inside a BAR. A device calls <see cref="Notify"/>; the message is sent when MSI-X is enabled and neither
/// the function nor the vector is masked, and otherwise the vector's pending bit is set and the message is sent
/// when the mask is lifted.
/// <para>Table writes are accepted at any width; reserved Vector Control bits stay zero.</para>
/// </summary>
public sealed class MsixCapability
{
    public const int EntrySize = 16;

    /// <summary>The architectural maximum (Table Size is 11 bits, N−1 encoded).</summary>
    public const int MaxVectors = 2048;

    private const ushort ControlEnable = 0x8000;
    private const ushort ControlFunctionMask = 0x4000;
    private const uint VectorControlMask = 0x1;

    private readonly PciFunction _function;
    private readonly byte[] _table;
    private readonly ulong[] _pending;

    private MsixCapability(PciFunction function, int capOffset, int vectors, int tableBar, uint tableOffset, int pbaBar, uint pbaOffset)
    {
        _function = function;
        CapabilityOffset = capOffset;
        VectorCount = vectors;
        TableBar = tableBar;
        TableOffset = tableOffset;
        PbaBar = pbaBar;
        PbaOffset = pbaOffset;
        _table = new byte[vectors * EntrySize];
        _pending = new ulong[(vectors + 63) / 64];
        Table = new TableWindow(this);
        PendingBits = new PbaWindow(this);
        Reset();
    }

    public int CapabilityOffset { get; }

    public int VectorCount { get; }

    public int TableBar { get; }

    public uint TableOffset { get; }

    public int PbaBar { get; }

    public uint PbaOffset { get; }

    /// <summary>Bytes the table occupies in its BAR.</summary>
    public ulong TableSize => (ulong)(VectorCount * EntrySize);

    /// <summary>Bytes the PBA occupies in its BAR (whole QWORDs).</summary>
    public ulong PbaSize => (ulong)(_pending.Length * 8);

    /// <summary>The vector table window; the device maps it into BAR <see cref="TableBar"/> at <see cref="TableOffset"/>.</summary>
    public IMmioDevice Table { get; }

    /// <summary>The PBA window; the device maps it into BAR <see cref="PbaBar"/> at <see cref="PbaOffset"/>.</summary>
    public IMmioDevice PendingBits { get; }

    public bool Enabled => (Control & ControlEnable) != 0;

    public bool FunctionMasked => (Control & ControlFunctionMask) != 0;

    private ushort Control => _function.Config.GetUInt16(CapabilityOffset + 2);

    /// <summary>Messages sent since power-on.</summary>
    public long MessagesSent { get; private set; }

    internal static MsixCapability Add(PciFunction function, int vectors, int tableBar, uint tableOffset, int pbaBar, uint pbaOffset)
    {
        if (vectors is < 1 or > MaxVectors || (tableOffset & 7) != 0 || (pbaOffset & 7) != 0 || tableBar is < 0 or > 5 || pbaBar is < 0 or > 5)
        {
            Core.ThrowHelper.ThrowArgument(nameof(vectors), "MSI-X needs 1..2048 vectors and QWORD-aligned table and PBA offsets in BARs 0..5");
        }

        Span<byte> body = stackalloc byte[10];
        BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)(vectors - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(body[2..], tableOffset | (uint)tableBar);
        BinaryPrimitives.WriteUInt32LittleEndian(body[6..], pbaOffset | (uint)pbaBar);
        int offset = function.Capabilities.Add(PciCapabilityId.MsiX, body);
        function.Config.SetWritable(offset + 2, 2, ControlEnable | ControlFunctionMask);
        return new MsixCapability(function, offset, vectors, tableBar, tableOffset, pbaBar, pbaOffset);
    }

    /// <summary>The message programmed in entry <paramref name="vector"/>.</summary>
    public MsiMessage Message(int vector)
    {
        var entry = _table.AsSpan(vector * EntrySize, EntrySize);
        return new MsiMessage(BinaryPrimitives.ReadUInt64LittleEndian(entry), BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]));
    }

    public bool IsVectorMasked(int vector) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(_table.AsSpan((vector * EntrySize) + 12)) & VectorControlMask) != 0;

    public bool IsPending(int vector) => (_pending[vector / 64] & (1UL << (vector % 64))) != 0;

    /// <summary>
    /// The device raises <paramref name="vector"/>. Returns true when the message was sent now; false when it
    /// was left pending (masked) or MSI-X is disabled (the device may then fall back to INTx).
    /// A vector outside the table is a guest error (a driver programmed a bad vector number into the device).
    /// </summary>
    public bool Notify(int vector)
    {
        if ((uint)vector >= (uint)VectorCount)
        {
            _function.ReportGuestError($"MSI-X vector {vector} does not exist (table has {VectorCount})");
            return false;
        }

        if (!Enabled)
        {
            return false;
        }

        if (FunctionMasked || IsVectorMasked(vector))
        {
            _pending[vector / 64] |= 1UL << (vector % 64);
            return false;
        }

        Send(vector);
        return true;
    }

    internal void OnControlChanged() => DeliverUnmaskedPending();

    /// <summary>Power-on state: every vector masked, nothing pending, table zero.</summary>
    internal void Reset()
    {
        Array.Clear(_table);
        Array.Clear(_pending);
        for (int v = 0; v < VectorCount; v++)
        {
            _table[(v * EntrySize) + 12] = 1;
        }
    }

    private void Send(int vector)
    {
        MessagesSent++;
        _function.SendMsi(Message(vector));
    }

    private void DeliverUnmaskedPending()
    {
        if (!Enabled || FunctionMasked)
        {
            return;
        }

        for (int v = 0; v < VectorCount; v++)
        {
            if (IsPending(v) && !IsVectorMasked(v))
            {
                _pending[v / 64] &= ~(1UL << (v % 64));
                Send(v);
            }
        }
    }

    private void WriteTable(ulong offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            ulong at = offset + (ulong)i;
            int field = (int)(at % EntrySize);
            if (field >= 12)
            {
                // Vector Control: only the mask bit is implemented; the rest is reserved and reads zero.
                byte mask = field == 12 ? (byte)VectorControlMask : (byte)0;
                _table[at] = (byte)(data[i] & mask);
            }
            else
            {
                _table[at] = data[i];
            }
        }

        DeliverUnmaskedPending();
    }

    private sealed class TableWindow(MsixCapability owner) : IMmioDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            for (int i = 0; i < data.Length; i++)
            {
                ulong at = offset + (ulong)i;
                data[i] = at < (ulong)owner._table.Length ? owner._table[at] : (byte)0;
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            if (offset + (ulong)data.Length > (ulong)owner._table.Length)
            {
                owner._function.ReportGuestError($"MSI-X table write at 0x{offset:x} beyond {owner.VectorCount} entries");
                return;
            }

            owner.WriteTable(offset, data);
        }
    }

    private sealed class PbaWindow(MsixCapability owner) : IMmioDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            for (int i = 0; i < data.Length; i++)
            {
                ulong at = offset + (ulong)i;
                data[i] = at < owner.PbaSize ? (byte)(owner._pending[at / 8] >> (int)(8 * (at % 8))) : (byte)0;
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            // The PBA is read-only (PCI 3.0 §6.8.2.10); writes are ignored.
        }
    }
}
