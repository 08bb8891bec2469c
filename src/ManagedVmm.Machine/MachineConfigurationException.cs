namespace ManagedVmm.Machine;

/// <summary>A machine that cannot be built as asked (bad options, a missing file): a user error with a clear message.</summary>
public sealed class MachineConfigurationException : Exception
{
    public MachineConfigurationException(string message)
        : base(message)
    {
    }

    public MachineConfigurationException()
    {
    }

    public MachineConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
