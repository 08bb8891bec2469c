using ManagedVmm.Core;
using ManagedVmm.Core.Dma;

namespace ManagedVmm.Devices.Nvme.Tests;

/// <summary>
/// A minimal IOMMU for isolation tests (the virtio-iommu is tested on its own): it translates chosen IOVA
/// ranges to guest-physical ranges with permissions and records every fault.
/// </summary>
internal sealed class FakeIommu : IDmaTranslator
{
    private readonly List<(ulong Iova, ulong Gpa, ulong Length, DmaAccess Access)> _maps = [];

    public List<(Bdf Requester, ulong Iova, DmaAccess Access)> Faults { get; } = [];

    public long Translations { get; private set; }

    public bool Covers(Bdf requester) => true;

    public void Map(ulong iova, ulong gpa, ulong length, DmaAccess access = DmaAccess.Read | DmaAccess.Write) => _maps.Add((iova, gpa, length, access));

    public void Unmap(ulong iova) => _maps.RemoveAll(m => m.Iova == iova);

    public IEnumerable<(ulong Gpa, ulong Length)> MappedGpaRanges()
    {
        foreach (var m in _maps)
        {
            yield return (m.Gpa, m.Length);
        }
    }

    public DmaTranslation Translate(Bdf requester, ulong iova, ulong length, DmaAccess access)
    {
        Translations++;
        foreach (var m in _maps)
        {
            if (iova >= m.Iova && iova - m.Iova < m.Length && (m.Access & access) == access)
            {
                ulong offset = iova - m.Iova;
                return DmaTranslation.To(m.Gpa + offset, Math.Min(length, m.Length - offset));
            }
        }

        Faults.Add((requester, iova, access));
        return DmaTranslation.Fault;
    }
}
