namespace ManagedVmm.Machine.Boot;

/// <summary>Entry types of the boot-info memory map (e820 numbering).</summary>
public enum MemoryMapType : uint
{
    Ram = 1,
    Reserved = 2,
}

/// <summary>
/// One boot-info memory map entry (ARCHITECTURE §3): <c>{u64 base, u64 length, u32 type, u32 reserved}</c>, 24 bytes.
/// </summary>
public readonly record struct MemoryMapEntry(ulong Base, ulong Length, MemoryMapType Type)
{
    public const int Size = 24;

    public ulong End => Base + Length;

    public override string ToString() => $"[0x{Base:x12}-0x{End - 1:x12}] {(Type == MemoryMapType.Ram ? "RAM" : "reserved")}";
}

/// <summary>Builds the boot-info memory map from the RAM layout and the ranges the VMM reserves.</summary>
public static class MemoryMapBuilder
{
    /// <summary>
    /// RAM regions minus the reserved ranges, plus the reserved ranges themselves (those that are not RAM too, such
    /// as ECAM), sorted by base. Adjacent RAM entries are merged; reserved entries stay as listed so that each says
    /// what it is (boot structures, firmware area, ECAM, a firmware image).
    /// </summary>
    public static IReadOnlyList<MemoryMapEntry> Build(IEnumerable<Core.Memory.RamRegion> ram, IEnumerable<MemoryMapEntry> reserved)
    {
        var reservedList = reserved.Where(r => r.Length > 0).OrderBy(r => r.Base).ToList();
        var entries = new List<MemoryMapEntry>(reservedList);
        foreach (var region in ram)
        {
            ulong cursor = region.GuestBase;
            foreach (var r in reservedList)
            {
                if (r.End <= cursor || r.Base >= region.End)
                {
                    continue;
                }

                if (r.Base > cursor)
                {
                    entries.Add(new MemoryMapEntry(cursor, r.Base - cursor, MemoryMapType.Ram));
                }

                cursor = Math.Max(cursor, r.End);
            }

            if (cursor < region.End)
            {
                entries.Add(new MemoryMapEntry(cursor, region.End - cursor, MemoryMapType.Ram));
            }
        }

        entries.Sort((a, b) => a.Base.CompareTo(b.Base));
        var merged = new List<MemoryMapEntry>();
        foreach (var e in entries)
        {
            if (merged.Count > 0 && e.Type == MemoryMapType.Ram && merged[^1].Type == MemoryMapType.Ram && merged[^1].End == e.Base)
            {
                merged[^1] = merged[^1] with { Length = merged[^1].Length + e.Length };
            }
            else
            {
                merged.Add(e);
            }
        }

        return merged;
    }
}
