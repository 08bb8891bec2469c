using ManagedVmm.Core;
using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.VirtioIommu.Spec;
using S = ManagedVmm.Devices.VirtioIommu.Spec.VirtioIommuStatus;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>
/// Random request streams with fixed seeds: the device never throws, answers every request as a plain reference
/// model does, translates as the model says, and keeps its mapping trees balanced, ordered and counted.
/// </summary>
public sealed class PropertyTests
{
    private const ulong Page = 0x1000;

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void MappingTree_AgreesWithASortedListModel(int seed)
    {
        var rng = new Random(seed);
        var tree = new IommuMappingTree();
        var model = new SortedDictionary<ulong, IommuMapping>();
        for (int step = 0; step < 6_000; step++)
        {
            ulong start = (ulong)rng.Next(0, 4096) * 16;
            ulong end = start + (ulong)rng.Next(1, 64);
            if (rng.Next(3) != 0)
            {
                bool overlaps = model.Values.Any(m => m.VirtStart <= end && start <= m.VirtEnd);
                Assert.That(tree.Overlaps(start, end), Is.EqualTo(overlaps));
                if (!overlaps)
                {
                    var m = new IommuMapping(start, end, (ulong)rng.NextInt64(), VirtioIommuMapFlags.Read);
                    tree.Insert(m);
                    model.Add(start, m);
                }
            }
            else
            {
                ulong key = model.Count > 0 && rng.Next(2) == 0 ? model.Keys.ElementAt(rng.Next(model.Count)) : start;
                Assert.That(tree.Remove(key), Is.EqualTo(model.Remove(key)));
            }

            ulong probe = (ulong)rng.Next(0, 4096 * 16 + 64);
            var containing = model.Values.Where(m => m.Contains(probe)).ToList();
            Assert.That(tree.TryFindContaining(probe, out var found), Is.EqualTo(containing.Count == 1));
            if (containing.Count == 1)
            {
                Assert.That(found, Is.EqualTo(containing[0]));
            }

            var ceiling = model.Values.FirstOrDefault(m => m.VirtStart >= probe);
            Assert.That(tree.TryFindCeiling(probe, out var c) ? c : default, Is.EqualTo(ceiling));
            var floor = model.Values.LastOrDefault(m => m.VirtStart <= probe);
            Assert.That(tree.TryFindFloor(probe, out var f) ? f : default, Is.EqualTo(floor));

            if (step % 500 == 0)
            {
                Assert.That(tree.CheckInvariants(), Is.Null);
                var all = new List<IommuMapping>();
                tree.CopyTo(all);
                Assert.That(all, Is.EqualTo(model.Values.ToList()));
            }
        }

        Assert.That(tree.CheckInvariants(), Is.Null);
        Assert.That(tree.Count, Is.EqualTo(model.Count));
    }

    [TestCase(11)]
    [TestCase(12)]
    [TestCase(13)]
    public void RandomRequestStream_MatchesReferenceModel(int seed)
    {
        var rng = new Random(seed);
        var bench = new IommuTestBench();
        bench.Iommu.WriteConfig(36, [0]);
        var model = new Model();
        ushort[] endpoints = [IommuTestBench.HostBridge, IommuTestBench.Nvme, IommuTestBench.Self, 444 & 0xFFFF, 0x0100];
        for (int step = 0; step < 5_000; step++)
        {
            uint domain = (uint)rng.Next(0, 4);
            ushort ep = endpoints[rng.Next(endpoints.Length)];
            ulong start = (ulong)rng.Next(0, 64) * Page;
            ulong end = start + ((ulong)rng.Next(1, 8) * Page) - 1;
            ulong phys = (ulong)rng.Next(0, 1024) * Page;
            switch (rng.Next(10))
            {
                case 0:
                case 1:
                    {
                        bool bypass = rng.Next(8) == 0;
                        Assert.That(bench.Attach(domain, ep, bypass ? 1u : 0u), Is.EqualTo(model.Attach(domain, ep, bypass)), $"step {step} attach");
                        break;
                    }

                case 2:
                    Assert.That(bench.Detach(domain, ep), Is.EqualTo(model.Detach(domain, ep)), $"step {step} detach");
                    break;
                case 3:
                case 4:
                case 5:
                    Assert.That(bench.Map(domain, start, end, phys, VirtioIommuMapFlags.Read | VirtioIommuMapFlags.Write),
                        Is.EqualTo(model.Map(domain, start, end, phys)), $"step {step} map");
                    break;
                case 6:
                case 7:
                    Assert.That(bench.Unmap(domain, start, end), Is.EqualTo(model.Unmap(domain, start, end)), $"step {step} unmap");
                    break;
                default:
                    {
                        ulong iova = (ulong)rng.Next(0, 72 * (int)Page);
                        var t = bench.Translate(ep, iova, 1, DmaAccess.Read);
                        ulong? expected = model.Translate(ep, iova);
                        Assert.That(t.IsFault ? (ulong?)null : t.Address, Is.EqualTo(expected), $"step {step} translate {ep:x} 0x{iova:x}");
                        break;
                    }
            }

            if (step % 250 == 0)
            {
                AssertConsistent(bench, model);
            }
        }

        AssertConsistent(bench, model);
    }

    [TestCase(21)]
    [TestCase(22)]
    public void RandomBytes_NeverThrowAndAnswerWithinTheWritableArea(int seed)
    {
        var rng = new Random(seed);
        var bench = new IommuTestBench(o => o.Granule = 1);
        var readable = new byte[80];
        var writable = new byte[600];
        for (int step = 0; step < 50_000; step++)
        {
            int r = rng.Next(0, readable.Length + 1);
            int w = rng.Next(0, writable.Length + 1);
            rng.NextBytes(readable);
            readable[0] = (byte)rng.Next(0, 8);
            if (rng.Next(2) == 0)
            {
                // Keep IDs small so that some random requests succeed and build state.
                readable[5] = readable[6] = readable[7] = 0;
                readable[8] = (byte)(rng.Next(2) == 0 ? 0 : 0x18);
                readable[9] = readable[10] = readable[11] = 0;
                readable[12] = (byte)rng.Next(0, 4);
                readable[13] = readable[14] = readable[15] = 0;
                readable[16] = readable[17] = readable[18] = readable[19] = 0;
            }

            Array.Fill(writable, (byte)0xA5);
            uint used = bench.Iommu.Requests.Process(readable.AsSpan(0, r), writable.AsSpan(0, w));
            Assert.That(used, Is.LessThanOrEqualTo((uint)w));
            Assert.That(writable.AsSpan(w).IndexOfAnyExcept((byte)0xA5), Is.EqualTo(-1), "nothing written past the writable area");
            bench.Translate((ushort)rng.Next(0, 0x40), (ulong)rng.NextInt64(), (ulong)rng.NextInt64(1, 1 << 20), DmaAccess.Read);
        }

        long total = 0;
        foreach (var d in bench.Iommu.Domains.Domains)
        {
            Assert.That(d.Mappings.CheckInvariants(), Is.Null);
            total += d.Mappings.Count;
        }

        Assert.That(bench.Stats.LiveMappings, Is.EqualTo(total));
    }

    private static void AssertConsistent(IommuTestBench bench, Model model)
    {
        Assert.That(bench.Iommu.Domains.DomainCount, Is.EqualTo(model.Domains.Count));
        long total = 0;
        foreach (var (id, d) in model.Domains)
        {
            var actual = bench.MappingsOf(id);
            Assert.That(actual.Select(m => (m.VirtStart, m.VirtEnd, m.PhysStart)), Is.EqualTo(d.Maps.Select(m => (m.Start, m.End, m.Phys))));
            Assert.That(bench.Iommu.Domains.TryGetDomain(id, out var real) ? real.Mappings.CheckInvariants() : "missing", Is.Null);
            total += d.Maps.Count;
        }

        Assert.That(bench.Stats.LiveMappings, Is.EqualTo(total));
    }

    /// <summary>The device's semantics written the plain way: lists and linear scans.</summary>
    private sealed class Model
    {
        public Dictionary<uint, ModelDomain> Domains { get; } = [];

        public Dictionary<ushort, uint> Attached { get; } = [];

        public static bool Exists(ushort ep) => ep is IommuTestBench.HostBridge or IommuTestBench.Nvme;

        public S Attach(uint domain, ushort ep, bool bypass)
        {
            if (!Exists(ep))
            {
                return S.NoEnt;
            }

            if (Domains.TryGetValue(domain, out var d) && d.Bypass != bypass)
            {
                return S.Inval;
            }

            if (Attached.TryGetValue(ep, out var old) && old == domain)
            {
                return S.Ok;
            }

            if (Attached.ContainsKey(ep))
            {
                Leave(ep);
            }

            if (!Domains.ContainsKey(domain))
            {
                Domains[domain] = new ModelDomain(bypass);
            }

            Domains[domain].Endpoints.Add(ep);
            Attached[ep] = domain;
            return S.Ok;
        }

        public S Detach(uint domain, ushort ep)
        {
            if (!Exists(ep))
            {
                return S.NoEnt;
            }

            if (!Attached.TryGetValue(ep, out var d) || d != domain)
            {
                return S.Inval;
            }

            Leave(ep);
            return S.Ok;
        }

        public S Map(uint domain, ulong start, ulong end, ulong phys)
        {
            if (!Domains.TryGetValue(domain, out var d))
            {
                return S.NoEnt;
            }

            if (d.Bypass)
            {
                return S.Inval;
            }

            if (d.Maps.Any(m => m.Start <= end && start <= m.End))
            {
                return S.Inval;
            }

            d.Maps.Add((start, end, phys));
            d.Maps.Sort();
            return S.Ok;
        }

        public S Unmap(uint domain, ulong start, ulong end)
        {
            if (!Domains.TryGetValue(domain, out var d))
            {
                return S.NoEnt;
            }

            if (d.Bypass)
            {
                return S.Inval;
            }

            var touched = d.Maps.Where(m => m.Start <= end && start <= m.End).ToList();
            if (touched.Any(m => m.Start < start || m.End > end))
            {
                return S.Range;
            }

            d.Maps.RemoveAll(touched.Contains);
            return S.Ok;
        }

        public ulong? Translate(ushort ep, ulong iova)
        {
            if (ep == IommuTestBench.Self || ep >> 8 != 0)
            {
                return iova; // the IOMMU itself and other buses are not translated
            }

            if (!Attached.TryGetValue(ep, out var id))
            {
                return null; // config bypass is 0 in this test
            }

            var d = Domains[id];
            if (d.Bypass)
            {
                return iova;
            }

            foreach (var m in d.Maps)
            {
                if (iova >= m.Start && iova <= m.End)
                {
                    return m.Phys + (iova - m.Start);
                }
            }

            return null;
        }

        private void Leave(ushort ep)
        {
            uint id = Attached[ep];
            Attached.Remove(ep);
            var d = Domains[id];
            d.Endpoints.Remove(ep);
            if (d.Endpoints.Count == 0)
            {
                Domains.Remove(id);
            }
        }
    }

    private sealed class ModelDomain(bool bypass)
    {
        public bool Bypass { get; } = bypass;

        public HashSet<ushort> Endpoints { get; } = [];

        public List<(ulong Start, ulong End, ulong Phys)> Maps { get; } = [];
    }
}
