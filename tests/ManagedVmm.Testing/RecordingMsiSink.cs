using ManagedVmm.Core;
using ManagedVmm.Core.Interrupts;

namespace ManagedVmm.Testing;

/// <summary>Records every MSI it receives, in order (Firecracker's interrupt test hooks).</summary>
public sealed class RecordingMsiSink : IMsiSink
{
    private readonly List<(Bdf Requester, MsiMessage Message)> _messages = [];

    public IReadOnlyList<(Bdf Requester, MsiMessage Message)> Messages => _messages;

    public int Count => _messages.Count;

    public void Signal(Bdf requester, MsiMessage message) => _messages.Add((requester, message));

    /// <summary>How many messages carried <paramref name="vector"/> in their data.</summary>
    public int CountVector(uint data)
    {
        int n = 0;
        foreach (var (_, m) in _messages)
        {
            if (m.Data == data)
            {
                n++;
            }
        }

        return n;
    }

    public void Clear() => _messages.Clear();
}
