using Iced.Intel;
using ManagedVmm.Cpu.X86.Decoding;
using ManagedVmm.Cpu.X86.Spec;

namespace ManagedVmm.Cpu.X86;

/// <summary>Instruction fetch and the decoded-instruction cache (per guest-physical 4 KiB page).</summary>
public sealed unsafe partial class X86Vcpu
{
    /// <summary>
    /// Code pages kept decoded at once; each costs 256 KiB of host memory. A guest that executes from more pages
    /// than this (or rewrites code in a loop) simply has the whole cache dropped and rebuilt.
    /// </summary>
    private const int MaxCodePages = 512;

    private readonly FetchReader _reader = new();
    private readonly Decoder _decoder;
    /// <summary>Cleared code pages kept for reuse (each is 256 KiB; allocating one per invalidation would churn the GC).</summary>
    private const int MaxFreeCodePages = 64;

    private readonly Dictionary<ulong, CodePage> _codePages = [];
    private readonly Stack<CodePage> _freeCodePages = new();
    private DecodedInsn[] _fetchEntries = [];
    private ulong _fetchVPage = ulong.MaxValue;
    private DecodedInsn _scratch;

    /// <summary>Decoded-instruction cache statistics.</summary>
    public long InstructionsDecoded { get; private set; }

    public long CodePageInvalidations { get; private set; }

    private ref DecodedInsn Fetch()
    {
        ulong rip = _rip;
        if ((rip & ~0xFFFUL) == _fetchVPage)
        {
            ref DecodedInsn e = ref _fetchEntries[(int)(rip & 0xFFF)];
            if (e.Handler != 0)
            {
                return ref e;
            }
        }

        return ref FetchSlow(rip);
    }

    private ref DecodedInsn FetchSlow(ulong rip)
    {
        ulong pa = Translate(rip, Access.Execute);
        ulong physPage = pa & ~0xFFFUL;
        int offset = (int)(rip & 0xFFF);
        if (!_ram.TryGetSpan(physPage, 4096, out var page))
        {
            // Executing from MMIO or from nothing: decode every time from what the bus answers.
            Span<byte> bytes = _reader.Buffer.AsSpan(0, 15);
            for (int k = 0; k < 15; k++)
            {
                bytes[k] = (byte)PhysRead(pa + (ulong)k, 1);
            }

            DecodeInto(ref _scratch, rip, 15);
            return ref _scratch;
        }

        if (!_codePages.TryGetValue(physPage, out var codePage))
        {
            if (_codePages.Count >= MaxCodePages)
            {
                foreach (var old in _codePages.Values)
                {
                    Recycle(old);
                }

                _codePages.Clear();
            }

            codePage = _freeCodePages.Count > 0 ? _freeCodePages.Pop() : new CodePage();
            codePage.PhysicalPage = physPage;
            _codePages.Add(physPage, codePage);
            _ram.WatchPage(physPage);
            InvalidateWriteTags(physPage);
        }

        _fetchVPage = rip & ~0xFFFUL;
        _fetchEntries = codePage.Entries;
        int available = 4096 - offset;
        if (available >= 15)
        {
            page.Slice(offset, 15).CopyTo(_reader.Buffer);
            ref DecodedInsn e = ref codePage.Entries[offset];
            DecodeInto(ref e, rip, 15);
            codePage.MarkDecoded(offset, e.I.Length);
            return ref e;
        }

        // The instruction may cross into the next page: decode what this page holds first, and fetch the next
        // page only if the decoder needs it (so a fault on it is reported only when it is really touched).
        page.Slice(offset, available).CopyTo(_reader.Buffer);
        DecodeInto(ref _scratch, rip, available);
        if (_scratch.I.IsInvalid && _decoder.LastError == DecoderError.NoMoreBytes)
        {
            ulong nextPa = Translate((rip & ~0xFFFUL) + 0x1000, Access.Execute);
            for (int k = available; k < 15; k++)
            {
                _reader.Buffer[k] = (byte)PhysRead(nextPa + (ulong)(k - available), 1);
            }

            DecodeInto(ref _scratch, rip, 15);
        }
        else if (_scratch.I.Length <= available)
        {
            codePage.Entries[offset] = _scratch;
            codePage.MarkDecoded(offset, _scratch.I.Length);
            return ref codePage.Entries[offset];
        }

        return ref _scratch;
    }

    private void DecodeInto(ref DecodedInsn e, ulong rip, int count)
    {
        _reader.Reset(count);
        _decoder.IP = rip;
        _decoder.Decode(out e.I);
        Prepare.Fill(ref e);
        InstructionsDecoded++;
    }

    private void OnCodePageWritten(ulong physPage)
    {
        if (_codePages.Remove(physPage & ~0xFFFUL, out var page))
        {
            Recycle(page);
            CodePageInvalidations++;
            _fetchVPage = ulong.MaxValue;
            _fetchEntries = [];
            _slice = Math.Min(_slice, 0);
        }
    }

    private void Recycle(CodePage page)
    {
        if (ReferenceEquals(page.Entries, _fetchEntries))
        {
            // The running instruction may still be read from this array: do not reuse it.
            return;
        }

        if (_freeCodePages.Count < MaxFreeCodePages)
        {
            page.Clear();
            _freeCodePages.Push(page);
        }
    }

    /// <summary>
    /// A CPU store to RAM that holds decoded code: invalidate the page only when the store touches decoded bytes.
    /// Returns true when the page must be dropped.
    /// </summary>
    private bool StoreHitsDecodedCode(ulong pa, int size) =>
        _codePages.TryGetValue(pa & ~0xFFFUL, out var page) && page.Overlaps((int)(pa & 0xFFF), size);

    /// <summary>Drops every decoded instruction (CR3 changes keep them: the cache is keyed by physical address).</summary>
    private void ResetFetchPage()
    {
        _fetchVPage = ulong.MaxValue;
    }

    /// <summary>Disassembles the instruction at <paramref name="rip"/> for diagnostics, without faulting.</summary>
    public string Disassemble(ulong rip)
    {
        var bytes = new byte[15];
        int n = 0;
        for (; n < 15; n++)
        {
            if (!TryTranslateNoFault(rip + (ulong)n, out ulong pa))
            {
                break;
            }

            if (!_memory.Ram.TryRead(pa, bytes.AsSpan(n, 1)))
            {
                break;
            }
        }

        if (n == 0)
        {
            return $"<rip 0x{rip:x} not mapped>";
        }

        var decoder = Decoder.Create(64, new ByteArrayCodeReader(bytes, 0, n), rip);
        decoder.Decode(out var instr);
        return FormatInstruction(in instr);
    }

    private static string FormatInstruction(in Instruction instr)
    {
        var formatter = new NasmFormatter();
        var output = new StringOutput();
        formatter.Format(instr, output);
        return $"{output.ToStringAndReset()} [{instr.Code}]";
    }
}
