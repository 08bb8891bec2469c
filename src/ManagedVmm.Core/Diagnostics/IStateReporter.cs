using System.Text.Json.Nodes;

namespace ManagedVmm.Core.Diagnostics;

/// <summary>
/// Something whose state <c>managedvmm inspect</c> and the JSON state dump can show: decoded registers, queues,
/// IOMMU domains. The state is a JSON tree so one capture serves both the text listing (rendered as indented
/// "key: value" lines) and <c>--json</c>. Capturing must not change device state (no read side effects).
/// </summary>
public interface IStateReporter
{
    /// <summary>The heading of this state in listings ("virtio-iommu", "nvme").</summary>
    string StateName { get; }

    JsonObject CaptureState();
}
