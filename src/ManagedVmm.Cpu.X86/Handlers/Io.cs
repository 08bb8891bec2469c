using ManagedVmm.Cpu.X86.Decoding;
using static ManagedVmm.Cpu.X86.Decoding.Operand;

namespace ManagedVmm.Cpu.X86;

/// <summary>IN/OUT through the port-I/O bus (INS/OUTS are not implemented and raise #UD).</summary>
public sealed unsafe partial class X86Vcpu
{
    private void ExecIn(ref DecodedInsn d)
    {
        ushort port = d.K1 == KImm ? (ushort)(d.Imm & 0xFF) : (ushort)R[2];
        int size = d.Size;
        EndSliceForDevices();
        uint v = _ports.In(port, size);
        WriteGpr(0, size, v);
    }

    private void ExecOut(ref DecodedInsn d)
    {
        ushort port = d.K0 == KImm ? (ushort)(d.Imm & 0xFF) : (ushort)R[2];
        int size = d.Size1;
        EndSliceForDevices();
        _ports.Out(port, size, (uint)ReadGpr(0, size));
    }
}
