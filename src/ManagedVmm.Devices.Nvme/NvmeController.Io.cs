using System.Buffers.Binary;
using ManagedVmm.Devices.Nvme.Spec;

namespace ManagedVmm.Devices.Nvme;

/// <summary>The NVM command set (NVMe 1.4 §6), with QEMU's check order (reference nvme.md §4).</summary>
public sealed partial class NvmeController
{
    /// <summary>Dataset Management carries at most 256 ranges of 16 bytes (NR is 8 bits, 0-based).</summary>
    private const int DsmRangeSize = 16;

    private ushort ExecuteIo(in NvmeCommand cmd)
    {
        if (cmd.Fuse != 0 || cmd.Psdt != 0)
        {
            // Fused operations and SGLs are not supported (SGLS = 0).
            return NvmeStatus.InvalidField | NvmeStatus.Dnr;
        }

        if (cmd.Opcode == NvmOpcode.Flush && cmd.Nsid == BroadcastNsid)
        {
            return Flush();
        }

        if (cmd.Nsid != NamespaceId)
        {
            return NvmeStatus.InvalidNamespaceOrFormat | NvmeStatus.Dnr;
        }

        return cmd.Opcode switch
        {
            NvmOpcode.Flush => Flush(),
            NvmOpcode.Read => ReadWrite(in cmd, write: false),
            NvmOpcode.Write => ReadWrite(in cmd, write: true),
            NvmOpcode.WriteZeroes => WriteZeroes(in cmd),
            NvmOpcode.DatasetManagement => DatasetManagement(in cmd),
            _ => NvmeStatus.InvalidOpcode | NvmeStatus.Dnr,
        };
    }

    private ushort Flush()
    {
        try
        {
            _backend.Flush();
            return NvmeStatus.Success;
        }
        catch (IOException e)
        {
            GuestError($"flush of {_backend.Description} failed on the host: {e.Message}");
            return NvmeStatus.WriteFault;
        }
    }

    /// <summary>Checks SLBA and NLB (0-based) against the namespace; returns the byte offset and length.</summary>
    private ushort CheckRange(in NvmeCommand cmd, bool mdts, out ulong offset, out int length)
    {
        ulong slba = ((ulong)cmd.Cdw11 << 32) | cmd.Cdw10;
        ulong nlb = (cmd.Cdw12 & 0xFFFF) + 1UL;
        ulong bytes = nlb << _lbaShift;
        offset = 0;
        length = 0;
        if (mdts && bytes > (ulong)_maxTransfer)
        {
            return NvmeStatus.InvalidField | NvmeStatus.Dnr;
        }

        if (slba > _nsze || nlb > _nsze - slba)
        {
            return NvmeStatus.LbaOutOfRange | NvmeStatus.Dnr;
        }

        offset = slba << _lbaShift;
        length = (int)bytes;
        return NvmeStatus.Success;
    }

    private ushort ReadWrite(in NvmeCommand cmd, bool write)
    {
        ushort status = CheckRange(in cmd, mdts: true, out ulong offset, out int length);
        if (status != NvmeStatus.Success)
        {
            return status;
        }

        if (write && _backend.IsReadOnly)
        {
            return NvmeStatus.NamespaceWriteProtected | NvmeStatus.Dnr;
        }

        if (write)
        {
            // Every byte is in hand before the namespace changes: a fault part-way writes nothing.
            status = TransferFromHost(in cmd, length);
            if (status != NvmeStatus.Success)
            {
                return status;
            }

            try
            {
                _backend.Write(offset, _buffer.AsSpan(0, length));
                if ((cmd.Cdw12 & (1u << 30)) != 0)
                {
                    _backend.Flush(); // FUA
                }
            }
            catch (IOException e)
            {
                GuestError($"write to {_backend.Description} failed on the host: {e.Message}");
                return NvmeStatus.WriteFault;
            }

            Statistics.BytesWritten += length;
            return NvmeStatus.Success;
        }

        try
        {
            _backend.Read(offset, _buffer.AsSpan(0, length));
        }
        catch (IOException e)
        {
            GuestError($"read from {_backend.Description} failed on the host: {e.Message}");
            return NvmeStatus.UnrecoveredReadError;
        }

        status = TransferToHost(in cmd, length);
        if (status == NvmeStatus.Success)
        {
            Statistics.BytesRead += length;
        }

        return status;
    }

    private ushort WriteZeroes(in NvmeCommand cmd)
    {
        // Write Zeroes moves no data, so it is exempt from MDTS (QEMU).
        ushort status = CheckRange(in cmd, mdts: false, out ulong offset, out int length);
        if (status != NvmeStatus.Success)
        {
            return status;
        }

        if (_backend.IsReadOnly)
        {
            return NvmeStatus.NamespaceWriteProtected | NvmeStatus.Dnr;
        }

        try
        {
            _backend.WriteZeroes(offset, (ulong)length);
        }
        catch (IOException e)
        {
            GuestError($"write zeroes to {_backend.Description} failed on the host: {e.Message}");
            return NvmeStatus.WriteFault;
        }

        return NvmeStatus.Success;
    }

    /// <summary>
    /// Dataset Management: the ranges are read and checked; deallocate is accepted and does nothing (DLFEAT = 0,
    /// so deallocated blocks keep their data). Out-of-range ranges are skipped, as QEMU does.
    /// </summary>
    private ushort DatasetManagement(in NvmeCommand cmd)
    {
        int ranges = (int)(cmd.Cdw10 & 0xFF) + 1;
        ushort status = TransferFromHost(in cmd, ranges * DsmRangeSize);
        if (status != NvmeStatus.Success)
        {
            return status;
        }

        if (_backend.IsReadOnly && (cmd.Cdw11 & 0x4) != 0)
        {
            return NvmeStatus.NamespaceWriteProtected | NvmeStatus.Dnr;
        }

        int valid = 0;
        for (int i = 0; i < ranges; i++)
        {
            var r = _buffer.AsSpan(i * DsmRangeSize, DsmRangeSize);
            ulong nlb = BinaryPrimitives.ReadUInt32LittleEndian(r[4..]);
            ulong slba = BinaryPrimitives.ReadUInt64LittleEndian(r[8..]);
            if (slba <= _nsze && nlb <= _nsze - slba)
            {
                valid++;
            }
        }

        DeallocatedRanges += valid;
        return NvmeStatus.Success;
    }

    /// <summary>In-range Dataset Management ranges seen (deallocate is otherwise a no-op).</summary>
    public long DeallocatedRanges { get; private set; }
}
