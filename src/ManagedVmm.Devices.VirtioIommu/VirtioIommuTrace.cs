using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Devices.VirtioIommu.Spec;
using Microsoft.Extensions.Logging;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// Trace events of the device, named after QEMU's <c>hw/virtio/trace-events</c> (<c>virtio_iommu_attach</c>,
/// <c>…_map</c>, <c>…_unmap</c>, <c>…_translate</c>, <c>…_report_fault</c>). Trace level under
/// <see cref="Category"/>; the generated methods test <c>IsEnabled</c> first, so a disabled trace costs one call.
/// </summary>
internal static partial class VirtioIommuTrace
{
    public const string Category = TraceCategories.Root + ".VirtioIommu";

    [LoggerMessage(EventId = 1, EventName = "virtio_iommu_attach", Level = LogLevel.Trace,
        Message = "virtio_iommu_attach domain={Domain} endpoint={Endpoint} bypass={Bypass} -> {Status}")]
    public static partial void Attach(ILogger logger, uint domain, uint endpoint, bool bypass, VirtioIommuStatus status);

    [LoggerMessage(EventId = 2, EventName = "virtio_iommu_detach", Level = LogLevel.Trace,
        Message = "virtio_iommu_detach domain={Domain} endpoint={Endpoint} -> {Status}")]
    public static partial void Detach(ILogger logger, uint domain, uint endpoint, VirtioIommuStatus status);

    [LoggerMessage(EventId = 3, EventName = "virtio_iommu_map", Level = LogLevel.Trace,
        Message = "virtio_iommu_map domain={Domain} virt_start=0x{VirtStart:x} virt_end=0x{VirtEnd:x} phys_start=0x{PhysStart:x} flags={Flags} -> {Status}")]
    public static partial void Map(ILogger logger, uint domain, ulong virtStart, ulong virtEnd, ulong physStart, VirtioIommuMapFlags flags, VirtioIommuStatus status);

    [LoggerMessage(EventId = 4, EventName = "virtio_iommu_unmap", Level = LogLevel.Trace,
        Message = "virtio_iommu_unmap domain={Domain} virt_start=0x{VirtStart:x} virt_end=0x{VirtEnd:x} removed={Removed} -> {Status}")]
    public static partial void Unmap(ILogger logger, uint domain, ulong virtStart, ulong virtEnd, int removed, VirtioIommuStatus status);

    [LoggerMessage(EventId = 5, EventName = "virtio_iommu_probe", Level = LogLevel.Trace,
        Message = "virtio_iommu_probe endpoint={Endpoint} -> {Status}")]
    public static partial void Probe(ILogger logger, uint endpoint, VirtioIommuStatus status);

    [LoggerMessage(EventId = 6, EventName = "virtio_iommu_translate", Level = LogLevel.Trace,
        Message = "virtio_iommu_translate rid={Requester:x4} iova=0x{Iova:x} len=0x{Length:x} access={Access} -> gpa=0x{Gpa:x} len=0x{OutLength:x}")]
    public static partial void Translate(ILogger logger, ushort requester, ulong iova, ulong length, Core.Dma.DmaAccess access, ulong gpa, ulong outLength);

    [LoggerMessage(EventId = 7, EventName = "virtio_iommu_report_fault", Level = LogLevel.Trace,
        Message = "virtio_iommu_report_fault reason={Reason} flags={Flags} endpoint={Endpoint} address=0x{Address:x}")]
    public static partial void ReportFault(ILogger logger, VirtioIommuFaultReason reason, VirtioIommuFaultFlags flags, uint endpoint, ulong address);

    [LoggerMessage(EventId = 8, EventName = "virtio_iommu_device_reset", Level = LogLevel.Trace,
        Message = "virtio_iommu_device_reset")]
    public static partial void DeviceReset(ILogger logger);

    [LoggerMessage(EventId = 9, EventName = "virtio_iommu_system_reset", Level = LogLevel.Trace,
        Message = "virtio_iommu_system_reset bypass={Bypass}")]
    public static partial void SystemReset(ILogger logger, bool bypass);

    [LoggerMessage(EventId = 10, EventName = "virtio_iommu_set_config", Level = LogLevel.Trace,
        Message = "virtio_iommu_set_config bypass={Bypass}")]
    public static partial void SetConfig(ILogger logger, bool bypass);

    [LoggerMessage(EventId = 11, EventName = "virtio_iommu_set_features", Level = LogLevel.Trace,
        Message = "virtio_iommu_set_features features={Features} accepted={Accepted}")]
    public static partial void SetFeatures(ILogger logger, VirtioIommuFeatures features, bool accepted);

    [LoggerMessage(EventId = 12, EventName = "virtio_iommu_unparsed_request", Level = LogLevel.Trace,
        Message = "virtio_iommu_unparsed_request readable={Readable} writable={Writable} type={Type}")]
    public static partial void Unparsed(ILogger logger, int readable, ulong writable, int type);
}
