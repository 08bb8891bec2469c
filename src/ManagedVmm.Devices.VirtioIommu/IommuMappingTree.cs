using ManagedVmm.Devices.VirtioIommu.Spec;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>One mapping, as one MAP request created it: <c>[VirtStart, VirtEnd]</c> (inclusive) → <c>PhysStart</c>.</summary>
public readonly record struct IommuMapping(ulong VirtStart, ulong VirtEnd, ulong PhysStart, VirtioIommuMapFlags Flags)
{
    /// <summary>True when <paramref name="iova"/> lies inside the mapping.</summary>
    public bool Contains(ulong iova) => iova >= VirtStart && iova <= VirtEnd;

    /// <summary>The guest-physical address <paramref name="iova"/> maps to (the caller checked <see cref="Contains"/>).</summary>
    public ulong Translate(ulong iova) => PhysStart + (iova - VirtStart);
}

/// <summary>
/// The mappings of one domain: non-overlapping inclusive ranges ordered by start, in an AVL tree whose nodes live
/// in one array (no allocation per node, a free list for removed ones). Lookup of the mapping holding an address,
/// the floor and ceiling searches, insertion and removal are all O(log n). The tree does not check overlaps on
/// insert: the request processor does (MAP's overlap rule answers INVAL), through <see cref="Overlaps"/>.
/// </summary>
public sealed class IommuMappingTree
{
    private const int Nil = -1;
    private const int InitialCapacity = 16;

    private Node[] _nodes = new Node[InitialCapacity];
    private int _root = Nil;
    private int _free = Nil;
    private int _used;

    /// <summary>Number of mappings.</summary>
    public int Count { get; private set; }

    /// <summary>The mapping containing <paramref name="iova"/>, if any.</summary>
    public bool TryFindContaining(ulong iova, out IommuMapping mapping)
    {
        int n = FloorNode(iova);
        if (n != Nil && _nodes[n].End >= iova)
        {
            mapping = ToMapping(n);
            return true;
        }

        mapping = default;
        return false;
    }

    /// <summary>The mapping with the greatest start ≤ <paramref name="key"/>.</summary>
    public bool TryFindFloor(ulong key, out IommuMapping mapping)
    {
        int n = FloorNode(key);
        mapping = n == Nil ? default : ToMapping(n);
        return n != Nil;
    }

    /// <summary>The mapping with the smallest start ≥ <paramref name="key"/>.</summary>
    public bool TryFindCeiling(ulong key, out IommuMapping mapping)
    {
        int best = Nil;
        int n = _root;
        while (n != Nil)
        {
            ref readonly var node = ref _nodes[n];
            if (node.Start == key)
            {
                best = n;
                break;
            }

            if (node.Start > key)
            {
                best = n;
                n = node.Left;
            }
            else
            {
                n = node.Right;
            }
        }

        mapping = best == Nil ? default : ToMapping(best);
        return best != Nil;
    }

    /// <summary>True when any mapping intersects <c>[start, end]</c> (inclusive, start ≤ end).</summary>
    public bool Overlaps(ulong start, ulong end)
    {
        // Mappings do not overlap, so among those starting at or before `end` the last one reaches furthest.
        int n = FloorNode(end);
        return n != Nil && _nodes[n].End >= start;
    }

    /// <summary>Adds a mapping. The caller guarantees it overlaps no existing mapping.</summary>
    public void Insert(in IommuMapping mapping)
    {
        int n = AllocateNode();
        ref var node = ref _nodes[n];
        node.Start = mapping.VirtStart;
        node.End = mapping.VirtEnd;
        node.Phys = mapping.PhysStart;
        node.Flags = mapping.Flags;
        node.Left = Nil;
        node.Right = Nil;
        node.Height = 1;
        _root = InsertAt(_root, n);
        Count++;
    }

    /// <summary>Removes the mapping that starts exactly at <paramref name="virtStart"/>.</summary>
    public bool Remove(ulong virtStart)
    {
        bool removed = false;
        _root = RemoveAt(_root, virtStart, ref removed);
        if (removed)
        {
            Count--;
        }

        return removed;
    }

    /// <summary>Drops every mapping and gives the memory back.</summary>
    public void Clear()
    {
        _nodes = new Node[InitialCapacity];
        _root = Nil;
        _free = Nil;
        _used = 0;
        Count = 0;
    }

    /// <summary>Copies up to <paramref name="max"/> mappings, in address order, into <paramref name="destination"/>.</summary>
    public void CopyTo(List<IommuMapping> destination, int max = int.MaxValue)
    {
        // Iterative in-order walk; an AVL tree of 2^31 nodes is under 46 levels deep.
        Span<int> stack = stackalloc int[64];
        int depth = 0;
        int n = _root;
        while ((n != Nil || depth > 0) && destination.Count < max)
        {
            while (n != Nil)
            {
                stack[depth++] = n;
                n = _nodes[n].Left;
            }

            n = stack[--depth];
            destination.Add(ToMapping(n));
            n = _nodes[n].Right;
        }
    }

    /// <summary>Checks the AVL and ordering invariants (for tests); returns a description of the first violation.</summary>
    internal string? CheckInvariants()
    {
        int count = 0;
        ulong? previousEnd = null;
        string? error = null;
        Check(_root, ref count, ref previousEnd, ref error);
        if (error == null && count != Count)
        {
            error = $"count {Count} but {count} nodes reachable";
        }

        return error;
    }

    private void Check(int n, ref int count, ref ulong? previousEnd, ref string? error)
    {
        if (n == Nil || error != null)
        {
            return;
        }

        ref readonly var node = ref _nodes[n];
        Check(node.Left, ref count, ref previousEnd, ref error);
        if (node.Start > node.End)
        {
            error ??= $"node {node.Start:x} has end {node.End:x} before its start";
        }

        if (previousEnd is { } pe && node.Start <= pe)
        {
            error ??= $"node {node.Start:x} overlaps or is out of order after end {pe:x}";
        }

        int balance = Height(node.Left) - Height(node.Right);
        if (balance is < -1 or > 1 || node.Height != 1 + Math.Max(Height(node.Left), Height(node.Right)))
        {
            error ??= $"node {node.Start:x} unbalanced or wrong height";
        }

        previousEnd = node.End;
        count++;
        Check(node.Right, ref count, ref previousEnd, ref error);
    }

    private int FloorNode(ulong key)
    {
        int best = Nil;
        int n = _root;
        var nodes = _nodes;
        while (n != Nil)
        {
            ref readonly var node = ref nodes[n];
            if (node.Start == key)
            {
                return n;
            }

            if (node.Start < key)
            {
                best = n;
                n = node.Right;
            }
            else
            {
                n = node.Left;
            }
        }

        return best;
    }

    private IommuMapping ToMapping(int n)
    {
        ref readonly var node = ref _nodes[n];
        return new IommuMapping(node.Start, node.End, node.Phys, node.Flags);
    }

    private int AllocateNode()
    {
        if (_free != Nil)
        {
            int n = _free;
            _free = _nodes[n].Left;
            return n;
        }

        if (_used == _nodes.Length)
        {
            Array.Resize(ref _nodes, _nodes.Length * 2);
        }

        return _used++;
    }

    private void FreeNode(int n)
    {
        _nodes[n].Left = _free;
        _free = n;
    }

    private int Height(int n) => n == Nil ? 0 : _nodes[n].Height;

    private int InsertAt(int n, int newNode)
    {
        if (n == Nil)
        {
            return newNode;
        }

        if (_nodes[newNode].Start < _nodes[n].Start)
        {
            _nodes[n].Left = InsertAt(_nodes[n].Left, newNode);
        }
        else
        {
            _nodes[n].Right = InsertAt(_nodes[n].Right, newNode);
        }

        return Rebalance(n);
    }

    private int RemoveAt(int n, ulong key, ref bool removed)
    {
        if (n == Nil)
        {
            return Nil;
        }

        ulong start = _nodes[n].Start;
        if (key < start)
        {
            _nodes[n].Left = RemoveAt(_nodes[n].Left, key, ref removed);
        }
        else if (key > start)
        {
            _nodes[n].Right = RemoveAt(_nodes[n].Right, key, ref removed);
        }
        else
        {
            removed = true;
            int left = _nodes[n].Left;
            int right = _nodes[n].Right;
            FreeNode(n);
            if (left == Nil)
            {
                return right;
            }

            if (right == Nil)
            {
                return left;
            }

            int rest = RemoveMin(right, out int successor);
            _nodes[successor].Left = left;
            _nodes[successor].Right = rest;
            return Rebalance(successor);
        }

        return Rebalance(n);
    }

    private int RemoveMin(int n, out int min)
    {
        if (_nodes[n].Left == Nil)
        {
            min = n;
            return _nodes[n].Right;
        }

        _nodes[n].Left = RemoveMin(_nodes[n].Left, out min);
        return Rebalance(n);
    }

    private void UpdateHeight(int n) =>
        _nodes[n].Height = 1 + Math.Max(Height(_nodes[n].Left), Height(_nodes[n].Right));

    private int Rebalance(int n)
    {
        UpdateHeight(n);
        int balance = Height(_nodes[n].Left) - Height(_nodes[n].Right);
        if (balance > 1)
        {
            int l = _nodes[n].Left;
            if (Height(_nodes[l].Left) < Height(_nodes[l].Right))
            {
                _nodes[n].Left = RotateLeft(l);
            }

            return RotateRight(n);
        }

        if (balance < -1)
        {
            int r = _nodes[n].Right;
            if (Height(_nodes[r].Right) < Height(_nodes[r].Left))
            {
                _nodes[n].Right = RotateRight(r);
            }

            return RotateLeft(n);
        }

        return n;
    }

    private int RotateRight(int n)
    {
        int l = _nodes[n].Left;
        _nodes[n].Left = _nodes[l].Right;
        _nodes[l].Right = n;
        UpdateHeight(n);
        UpdateHeight(l);
        return l;
    }

    private int RotateLeft(int n)
    {
        int r = _nodes[n].Right;
        _nodes[n].Right = _nodes[r].Left;
        _nodes[r].Left = n;
        UpdateHeight(n);
        UpdateHeight(r);
        return r;
    }

    private struct Node
    {
        public ulong Start;
        public ulong End;
        public ulong Phys;
        public VirtioIommuMapFlags Flags;
        public int Left;
        public int Right;
        public int Height;
    }
}
