using System.Globalization;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ManagedVmm.Cpu.X86.Tests;

/// <summary>
/// Flags and results of every ALU instruction at every operand size with edge values, compared with what the
/// host x86-64 processor produced (HostOracle/flags_oracle.c; the table is committed as flags_oracle.txt).
/// Only architecturally defined flags are compared.
/// </summary>
public sealed class FlagsOracleTests
{
    private sealed record Row(string Op, int Size, ulong A, ulong B, ulong D, ulong Cin, ulong Rax, ulong Rdx, ulong Flags);

    private static readonly Lazy<List<Row>> s_rows = new(LoadRows);

    private static List<Row> LoadRows()
    {
        string path = Path.Combine(TestContext.CurrentContext.TestDirectory, "HostOracle", "flags_oracle.txt");
        var rows = new List<Row>();
        foreach (var line in File.ReadLines(path))
        {
            var p = line.Split(' ');
            ulong H(int i) => ulong.Parse(p[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            rows.Add(new Row(p[0], int.Parse(p[1], CultureInfo.InvariantCulture), H(2), H(3), H(4), H(5), H(6), H(7), H(8)));
        }

        return rows;
    }

    public static IEnumerable<TestCaseData> Groups()
    {
        string[] ops = ["add", "sub", "adc", "sbb", "and", "or", "xor", "cmp", "test", "inc", "dec", "neg", "not",
            "shl", "shr", "sar", "rol", "ror", "rcl", "rcr", "mul", "imul", "div", "idiv"];
        foreach (var op in ops)
        {
            foreach (int size in new[] { 1, 2, 4, 8 })
            {
                yield return new TestCaseData(op, size).SetName($"Flags_{op}_{size * 8}bit_MatchHostProcessor");
            }
        }
    }

    [TestCaseSource(nameof(Groups))]
    public void Flags(string op, int size)
    {
        using var bed = new CpuTestBed();
        var rows = s_rows.Value.Where(r => r.Op == op && r.Size == size).ToList();
        Assert.That(rows, Is.Not.Empty);
        ulong mask = size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
        var failures = new List<string>();
        foreach (var row in rows)
        {
            bed.Load(a =>
            {
                a.mov(rax, row.A);
                a.mov(rbx, row.B);
                a.mov(rcx, row.B);
                a.mov(rdx, row.D);
                a.push((int)row.Cin);
                a.popfq();
                a.AddInstruction(Build(op, size));
                a.pushfq();
                a.pop(r8);
                a.hlt();
            });
            bed.Cpu.Rip = CpuTestBed.CodeBase;
            bed.RunToHalt();
            ulong defined = DefinedFlags(op, size, row.B);
            ulong gotFlags = bed.Cpu[Gpr.R8] & defined;
            ulong wantFlags = row.Flags & defined;
            bool raxOk = bed.Cpu[Gpr.Rax] == row.Rax;
            bool rdxOk = bed.Cpu[Gpr.Rdx] == row.Rdx;
            if (!raxOk || !rdxOk || gotFlags != wantFlags)
            {
                failures.Add($"{op}{size * 8} a=0x{row.A:x} b=0x{row.B:x} cin={row.Cin & 1}: rax 0x{bed.Cpu[Gpr.Rax]:x} (want 0x{row.Rax:x}) " +
                    $"rdx 0x{bed.Cpu[Gpr.Rdx]:x} (want 0x{row.Rdx:x}) flags 0x{gotFlags:x} (want 0x{wantFlags:x})");
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
        _ = mask;
    }

    private static ulong DefinedFlags(string op, int size, ulong count)
    {
        const ulong all = 0x8D5, noAf = 0x8C5, cfOf = 0x801;
        switch (op)
        {
            case "and" or "or" or "xor" or "test": return noAf;
            case "shl" or "shr" or "sar":
                return count == 0 ? all : count == 1 ? noAf : noAf & ~0x800UL;
            case "rol" or "ror" or "rcl" or "rcr":
                return count == 0 ? all : count == 1 ? all : all & ~0x800UL;
            case "mul" or "imul": return cfOf;
            case "div" or "idiv": return 0;
            default: return all;
        }
    }

    private static Instruction Build(string op, int size)
    {
        int bits = size * 8;
        Register a = size switch { 1 => Register.AL, 2 => Register.AX, 4 => Register.EAX, _ => Register.RAX };
        Register b = size switch { 1 => Register.BL, 2 => Register.BX, 4 => Register.EBX, _ => Register.RBX };
        string name = char.ToUpperInvariant(op[0]) + op[1..];
        switch (op)
        {
            case "inc" or "dec" or "neg" or "not":
                return Instruction.Create(Enum.Parse<Code>($"{name}_rm{bits}"), a);
            case "shl" or "shr" or "sar" or "rol" or "ror" or "rcl" or "rcr":
                return Instruction.Create(Enum.Parse<Code>($"{name}_rm{bits}_CL"), a, Register.CL);
            case "mul" or "imul" or "div" or "idiv":
                return Instruction.Create(Enum.Parse<Code>($"{name}_rm{bits}"), b);
            default:
                return Instruction.Create(Enum.Parse<Code>($"{name}_rm{bits}_r{bits}"), a, b);
        }
    }
}
