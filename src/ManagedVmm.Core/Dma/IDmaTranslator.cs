using ManagedVmm.Core.Memory;

namespace ManagedVmm.Core.Dma;

/// <summary>The direction of a DMA access, as an IOMMU checks it against a mapping's permissions.</summary>
[Flags]
public enum DmaAccess
{
    Read = 1,
    Write = 2,
}

/// <summary>
/// The result of translating the start of a DMA access: either a guest-physical address valid for
/// <see cref="Length"/> contiguous bytes (at most what was asked), or a fault. A fault is a value: the IOMMU
/// has already recorded it (and queued its fault event), and the device decides what its spec does next.
/// </summary>
public readonly record struct DmaTranslation(bool IsFault, ulong Address, ulong Length)
{
    public static DmaTranslation Fault => new(true, 0, 0);

    public static DmaTranslation To(ulong address, ulong length) => new(false, address, length);
}

/// <summary>
/// An IOMMU's side of the DMA seam (OpenVMM <c>TranslatingMemory</c>, cloud-hypervisor <c>AccessPlatform</c>).
/// </summary>
public interface IDmaTranslator
{
    /// <summary>True when this IOMMU sits between <paramref name="requester"/> and memory.</summary>
    bool Covers(Bdf requester);

    /// <summary>
    /// Translates the first bytes of an access of <paramref name="length"/> bytes (length ≥ 1) at
    /// <paramref name="iova"/>. The returned length may be shorter when the access crosses into another mapping;
    /// the caller translates the rest separately.
    /// </summary>
    DmaTranslation Translate(Bdf requester, ulong iova, ulong length, DmaAccess access);
}

/// <summary>The seam devices use: the memory their DMA reaches, whether or not an IOMMU translates it.</summary>
public interface IDmaMemoryProvider
{
    IGuestMemoryView ForRequester(Bdf requester);
}
