using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Virtio.Spec;

namespace ManagedVmm.Testing.Virtio;

/// <summary>A fault event as the driver reads it from an eventq buffer (virtio v1.2 §5.13.6.7).</summary>
public readonly record struct ViommuFaultEvent(byte Reason, uint Flags, uint Endpoint, ulong Address, uint UsedLength, byte[] Raw);

/// <summary>A reply as the driver sees it: the used length and the writable bytes.</summary>
public readonly record struct ViommuReply(uint UsedLength, byte[] Writable)
{
    /// <summary>The status byte of the tail at the end of the writable part.</summary>
    public byte Status => Writable[^4];
}

/// <summary>
/// The guest side of the virtio-iommu for tests, the way the Linux driver talks to it (reference §1, §5): its own
/// copy of the wire format (never the device's structs), requests as a readable buffer plus a writable tail
/// (PROBE: <c>probe_size + 4</c>), eventq pre-filled with 24-byte buffers. <see cref="DeviceAddress"/> turns the
/// GPA of a buffer that was mapped through <see cref="MapBuffer"/> into its IOVA, for a device driver (NVMe) to use.
/// </summary>
public sealed class ViommuTestDriver
{
    public const ushort VendorId = 0x1AF4;
    public const ushort DeviceId = 0x1057;

    // Request types, statuses, flags (§5.13.6).
    public const byte TAttach = 1, TDetach = 2, TMap = 3, TUnmap = 4, TProbe = 5;
    public const byte SOk = 0, SIoErr = 1, SUnsupp = 2, SDevErr = 3, SInval = 4, SRange = 5, SNoEnt = 6, SFault = 7, SNoMem = 8;
    public const uint MapRead = 1, MapWrite = 2, MapMmio = 4;
    public const uint AttachBypass = 1;
    public const byte FaultRUnknown = 0, FaultRDomain = 1, FaultRMapping = 2;
    public const uint FaultFRead = 1, FaultFWrite = 2, FaultFAddress = 0x100;

    // Feature bits (§5.13.3).
    public const int FInputRange = 0, FDomainRange = 1, FMapUnmap = 2, FBypass = 3, FProbe = 4, FMmio = 5, FBypassConfig = 6;

    // Config layout (§5.13.4).
    public const int CfgPageSizeMask = 0, CfgInputStart = 8, CfgInputEnd = 16, CfgDomainStart = 24, CfgDomainEnd = 28, CfgProbeSize = 32, CfgBypass = 36;

    public const int FaultSize = 24;

    private readonly List<(ulong Gpa, ulong Iova, ulong Length)> _windows = [];
    private readonly List<DriverBuffer> _eventBuffers = [];
    private readonly Dictionary<ushort, DriverBuffer> _eventByHead = [];

    public ViommuTestDriver(IQtest q, GuestBufferAllocator alloc, Bdf address)
    {
        Q = q;
        Alloc = alloc;
        Pci = new VirtioPciDriver(q, alloc, address);
    }

    public IQtest Q { get; }

    public GuestBufferAllocator Alloc { get; }

    public VirtioPciDriver Pci { get; }

    public VirtqueueDriver RequestQueue { get; private set; } = null!;

    public VirtqueueDriver? EventQueue { get; private set; }

    /// <summary>The features negotiated by <see cref="Initialize"/>.</summary>
    public ulong Features { get; private set; }

    public uint ProbeSize => Pci.ReadConfig32(CfgProbeSize);

    public ulong PageSizeMask => Pci.ReadConfig64(CfgPageSizeMask);

    public byte Bypass => Pci.ReadConfig8(CfgBypass);

    /// <summary>Finds the virtio-iommu (1af4:1057) among <paramref name="functions"/> (already enumerated).</summary>
    public static ViommuTestDriver Find(IQtest q, GuestBufferAllocator alloc, IReadOnlyList<EnumeratedFunction> functions)
    {
        foreach (var f in functions)
        {
            if (f.VendorId == VendorId && f.DeviceId == DeviceId)
            {
                return new ViommuTestDriver(q, alloc, f.Address);
            }
        }

        throw new InvalidOperationException("no virtio-iommu (1af4:1057) on bus 0");
    }

    /// <summary>
    /// Linux's bring-up: negotiate VERSION_1 and every offered device bit the driver knows except legacy F_BYPASS
    /// (or exactly <paramref name="features"/>), set up requestq and (unless told not to) eventq, DRIVER_OK, then
    /// fill eventq with <paramref name="eventBuffers"/> 24-byte buffers.
    /// </summary>
    public void Initialize(ulong? features = null, bool eventq = true, int eventBuffers = 8, bool eventIdx = false, bool msix = false)
    {
        ulong offered = Pci.DeviceFeatures;
        ulong wanted = features ?? (offered & (Bit(FInputRange) | Bit(FDomainRange) | Bit(FMapUnmap) | Bit(FProbe) | Bit(FMmio) | Bit(FBypassConfig)
            | (1UL << VirtioFeatures.VERSION_1) | (eventIdx ? 1UL << VirtioFeatures.RING_EVENT_IDX : 0)));
        if (!Pci.Negotiate(wanted))
        {
            throw new InvalidOperationException($"virtio-iommu refused features 0x{wanted:x}");
        }

        Features = wanted;
        if (msix)
        {
            Pci.EnableMsix(3);
            Pci.Write16(VirtioPciCommonCfg.config_msix_vector, 2);
        }

        RequestQueue = Pci.SetupQueue(0, vector: msix ? (ushort)0 : VirtioPciMsix.NO_VECTOR);
        RequestQueue.EventIdx = eventIdx;
        if (eventq)
        {
            EventQueue = Pci.SetupQueue(1, vector: msix ? (ushort)1 : VirtioPciMsix.NO_VECTOR);
            EventQueue.EventIdx = eventIdx;
        }

        Pci.DriverOk();
        if (EventQueue != null)
        {
            AddEventBuffers(eventBuffers);
        }
    }

    public static ulong Bit(int bit) => 1UL << bit;

    // ---------------------------------------------------------------- requests

    /// <summary>Sends one request (readable part + <paramref name="writable"/> bytes), kicks, and returns the reply.</summary>
    public ViommuReply Send(byte[] readable, uint writable = 4)
    {
        var buffers = new[] { RequestQueue.Readable(readable), RequestQueue.Writable(writable) };
        RequestQueue.Add(buffers);
        RequestQueue.Kick();
        var used = RequestQueue.GetUsed();
        return new ViommuReply(used.Length, RequestQueue.WritableBytes(buffers));
    }

    /// <summary>Sends a tail-only request and returns its status, failing when the used length is not 4.</summary>
    public byte Status(byte[] readable)
    {
        var reply = Send(readable);
        if (reply.UsedLength != 4)
        {
            throw new InvalidOperationException($"used length {reply.UsedLength} for a 4-byte tail");
        }

        return reply.Status;
    }

    public byte Attach(uint domain, uint endpoint, uint flags = 0) => Status(AttachRequest(TAttach, domain, endpoint, flags));

    public byte Detach(uint domain, uint endpoint) => Status(AttachRequest(TDetach, domain, endpoint, 0));

    public byte Map(uint domain, ulong virtStart, ulong virtEnd, ulong phys, uint flags) => Status(MapRequest(domain, virtStart, virtEnd, phys, flags));

    public byte Unmap(uint domain, ulong virtStart, ulong virtEnd) => Status(UnmapRequest(domain, virtStart, virtEnd));

    /// <summary>PROBE with a writable part of <c>probe_size + 4</c> (or <paramref name="writable"/>).</summary>
    public ViommuReply Probe(uint endpoint, uint? writable = null) => Send(ProbeRequest(endpoint), writable ?? (ProbeSize + 4));

    /// <summary>MAPs [<paramref name="gpa"/>, +<paramref name="length"/>) at <paramref name="iova"/> and remembers the window for <see cref="DeviceAddress"/>.</summary>
    public byte MapBuffer(uint domain, ulong gpa, ulong length, ulong iova, uint flags = MapRead | MapWrite)
    {
        byte status = Map(domain, iova, iova + length - 1, gpa, flags);
        if (status == SOk)
        {
            _windows.Add((gpa, iova, length));
        }

        return status;
    }

    /// <summary>UNMAPs the window that starts at <paramref name="iova"/> and forgets it.</summary>
    public byte UnmapBuffer(uint domain, ulong iova, ulong length)
    {
        byte status = Unmap(domain, iova, iova + length - 1);
        _windows.RemoveAll(w => w.Iova == iova);
        return status;
    }

    /// <summary>The IOVA of <paramref name="gpa"/> through a mapped window; GPAs outside every window are returned as they are.</summary>
    public ulong DeviceAddress(ulong gpa)
    {
        foreach (var (g, iova, length) in _windows)
        {
            if (gpa >= g && gpa - g < length)
            {
                return iova + (gpa - g);
            }
        }

        return gpa;
    }

    /// <summary>Writes config <c>bypass</c> (needs BYPASS_CONFIG).</summary>
    public void SetBypass(byte value) => Pci.WriteConfig8(CfgBypass, value);

    // ---------------------------------------------------------------- events

    /// <summary>Adds <paramref name="count"/> eventq buffers of <paramref name="size"/> bytes and kicks (if the device asks).</summary>
    public void AddEventBuffers(int count, uint size = FaultSize)
    {
        var eq = EventQueue ?? throw new InvalidOperationException("eventq was not set up");
        for (int i = 0; i < count; i++)
        {
            var b = eq.Writable(size);
            ushort head = eq.Add([b]);
            _eventByHead[head] = b;
        }

        eq.KickIfNeeded();
    }

    /// <summary>Takes the next used eventq buffer, if any, and decodes the fault in it.</summary>
    public bool TryTakeFault(out ViommuFaultEvent fault)
    {
        fault = default;
        var eq = EventQueue;
        if (eq == null || !eq.TryGetUsed(out var used))
        {
            return false;
        }

        var b = _eventByHead[(ushort)used.Id];
        _eventByHead.Remove((ushort)used.Id);
        var raw = new byte[b.Length];
        Q.Ram.TryRead(b.Address, raw);
        fault = raw.Length >= FaultSize
            ? new ViommuFaultEvent(raw[0], BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(4)), BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(8)),
                BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(16)), used.Length, raw)
            : new ViommuFaultEvent(0, 0, 0, 0, used.Length, raw);
        return true;
    }

    /// <summary>Every fault event delivered so far.</summary>
    public List<ViommuFaultEvent> TakeFaults()
    {
        var list = new List<ViommuFaultEvent>();
        while (TryTakeFault(out var f))
        {
            list.Add(f);
        }

        return list;
    }

    // ---------------------------------------------------------------- wire format

    /// <summary>ATTACH/DETACH: head, le32 domain, le32 endpoint, le32 flags, u8 reserved[4] (20 bytes).</summary>
    public static byte[] AttachRequest(byte type, uint domain, uint endpoint, uint flags)
    {
        var b = new byte[20];
        b[0] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), domain);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), endpoint);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), flags);
        return b;
    }

    /// <summary>MAP: head, le32 domain, le64 virt_start, le64 virt_end, le64 phys_start, le32 flags (36 bytes).</summary>
    public static byte[] MapRequest(uint domain, ulong virtStart, ulong virtEnd, ulong phys, uint flags)
    {
        var b = new byte[36];
        WriteMap(b, domain, virtStart, virtEnd, phys, flags);
        return b;
    }

    public static void WriteMap(Span<byte> b, uint domain, ulong virtStart, ulong virtEnd, ulong phys, uint flags)
    {
        b[..36].Clear();
        b[0] = TMap;
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], domain);
        BinaryPrimitives.WriteUInt64LittleEndian(b[8..], virtStart);
        BinaryPrimitives.WriteUInt64LittleEndian(b[16..], virtEnd);
        BinaryPrimitives.WriteUInt64LittleEndian(b[24..], phys);
        BinaryPrimitives.WriteUInt32LittleEndian(b[32..], flags);
    }

    /// <summary>UNMAP: head, le32 domain, le64 virt_start, le64 virt_end, u8 reserved[4] (28 bytes).</summary>
    public static byte[] UnmapRequest(uint domain, ulong virtStart, ulong virtEnd)
    {
        var b = new byte[28];
        WriteUnmap(b, domain, virtStart, virtEnd);
        return b;
    }

    public static void WriteUnmap(Span<byte> b, uint domain, ulong virtStart, ulong virtEnd)
    {
        b[..28].Clear();
        b[0] = TUnmap;
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], domain);
        BinaryPrimitives.WriteUInt64LittleEndian(b[8..], virtStart);
        BinaryPrimitives.WriteUInt64LittleEndian(b[16..], virtEnd);
    }

    /// <summary>PROBE: head, le32 endpoint, u8 reserved[64] (72 bytes).</summary>
    public static byte[] ProbeRequest(uint endpoint)
    {
        var b = new byte[72];
        b[0] = TProbe;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), endpoint);
        return b;
    }
}
