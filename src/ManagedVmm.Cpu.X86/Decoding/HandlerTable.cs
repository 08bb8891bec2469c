using Iced.Intel;

namespace ManagedVmm.Cpu.X86.Decoding;

/// <summary>Interpreter handlers; the run loop switches on these (a dense jump table).</summary>
internal enum H : ushort
{
    NotDecoded = 0,
    Unimplemented,
    Invalid,
    Nop,

    // Arithmetic and logic (Handlers/Arith.cs)
    Add, Or, Adc, Sbb, And, Sub, Xor, Cmp, Test, Inc, Dec, Neg, Not,
    Mul, Imul, Div, Idiv,
    Xadd, Cmpxchg, Cmpxchg16b, Cmpxchg8b,

    // Shifts and bits (Handlers/Bits.cs)
    Shl, Shr, Sar, Rol, Ror, Rcl, Rcr, Shld, Shrd,
    Bt, Bts, Btr, Btc, Bsf, Bsr, Tzcnt, Lzcnt, Popcnt, Andn, Blsr, Blsi, Blsmsk, Bextr,

    // Data movement (Handlers/Mov.cs)
    Mov, Movzx, Movsx, Movsxd, Lea, Xchg, Cmovcc, Setcc, Bswap, Cbw, Cwd, Movnti,

    // Stack and control flow (Handlers/ControlFlow.cs)
    Push, Pop, Call, Ret, Jmp, Jcc, Jrcxz, Loop, Loope, Loopne, Leave, Enter, Pushf, Popf, Lahf, Sahf,
    Clc, Stc, Cmc, Cld, Std, Retf,

    // Strings (Handlers/String.cs)
    Movs, Stos, Lods, Cmps, Scas,

    // System (Handlers/System.cs, Handlers/Io.cs)
    In, Out, Cpuid, Rdtsc, Rdtscp, Rdmsr, Wrmsr, Lgdt, Lidt, Sgdt, Sidt, Ltr, Str, Lldt, MovCr, MovSreg,
    Invlpg, Cli, Sti, Hlt, Int3, IntN, Int1, Ud, Iretq, Swapgs, Clts, Wbinvd,

    // SSE/SSE2 integer and moves (Handlers/Sse.cs)
    Movdqa, MovdToXmm, MovdFromXmm, MovqXmm, MovqStore, Pxor, Por, Pand, Pandn, Pcmpeqb, Pcmpeqw, Pcmpeqd,
    Pmovmskb, Punpcklbw, Punpcklwd, Punpckldq, Punpcklqdq, Punpckhqdq, Pshufd, Paddb, Paddw, Paddd, Paddq,
    Psubb, Psubw, Psubd, Psubq, Pslldq, Psrldq, Movhps, Movlps, Movhlps, Movlhps, Pminub, Pcmpgtb, Psllq, Psrlq,
    Pinsrw, Pextrw, Pshuflw, Pshufhw, Shufps, Stmxcsr, Ldmxcsr,
}

/// <summary>Maps every Iced <see cref="Code"/> to its handler once, at start-up.</summary>
internal static class HandlerTable
{
    public static readonly H[] ByCode = Build();

    private static H[] Build()
    {
        var table = new H[Enum.GetValues<Code>().Length];
        for (int c = 0; c < table.Length; c++)
        {
            var code = (Code)c;
            var enc = code.Encoding();
            table[c] = enc == EncodingKind.Legacy ? ByMnemonic(code.Mnemonic()) : H.Unimplemented;
            if (enc == EncodingKind.VEX)
            {
                table[c] = code.Mnemonic() switch
                {
                    Mnemonic.Andn => H.Andn,
                    Mnemonic.Blsr => H.Blsr,
                    Mnemonic.Blsi => H.Blsi,
                    Mnemonic.Blsmsk => H.Blsmsk,
                    Mnemonic.Bextr => H.Bextr,
                    _ => H.Unimplemented,
                };
            }
        }

        table[(int)Code.INVALID] = H.Invalid;
        foreach (var code in new[] { Code.Mov_r64_cr, Code.Mov_cr_r64, Code.Mov_r32_cr, Code.Mov_cr_r32 })
        {
            table[(int)code] = H.MovCr;
        }

        foreach (var code in new[] { Code.Mov_r32m16_Sreg, Code.Mov_r64m16_Sreg, Code.Mov_Sreg_r32m16, Code.Mov_Sreg_r64m16, Code.Mov_Sreg_rm16, Code.Mov_rm16_Sreg })
        {
            table[(int)code] = H.MovSreg;
        }

        table[(int)Code.Mov_r64_dr] = H.Unimplemented;
        table[(int)Code.Mov_dr_r64] = H.Unimplemented;
        table[(int)Code.Movq_rm64_xmm] = H.MovdFromXmm;
        table[(int)Code.Movq_xmm_rm64] = H.MovdToXmm;
        table[(int)Code.Movq_xmm_xmmm64] = H.MovqXmm;
        table[(int)Code.Movq_xmmm64_xmm] = H.MovqStore;
        table[(int)Code.Movq_mm_rm64] = H.Unimplemented;
        table[(int)Code.Movq_rm64_mm] = H.Unimplemented;
        return table;
    }

    private static H ByMnemonic(Mnemonic m) => m switch
    {
        Mnemonic.Nop or Mnemonic.Pause or Mnemonic.Endbr64 or Mnemonic.Endbr32 or Mnemonic.Mfence or Mnemonic.Lfence
            or Mnemonic.Sfence or Mnemonic.Clflush or Mnemonic.Clflushopt or Mnemonic.Prefetchnta or Mnemonic.Prefetcht0
            or Mnemonic.Prefetcht1 or Mnemonic.Prefetcht2 or Mnemonic.Prefetchw or Mnemonic.Invd => H.Nop,
        Mnemonic.Wbinvd => H.Wbinvd,
        Mnemonic.Add => H.Add,
        Mnemonic.Or => H.Or,
        Mnemonic.Adc => H.Adc,
        Mnemonic.Sbb => H.Sbb,
        Mnemonic.And => H.And,
        Mnemonic.Sub => H.Sub,
        Mnemonic.Xor => H.Xor,
        Mnemonic.Cmp => H.Cmp,
        Mnemonic.Test => H.Test,
        Mnemonic.Inc => H.Inc,
        Mnemonic.Dec => H.Dec,
        Mnemonic.Neg => H.Neg,
        Mnemonic.Not => H.Not,
        Mnemonic.Mul => H.Mul,
        Mnemonic.Imul => H.Imul,
        Mnemonic.Div => H.Div,
        Mnemonic.Idiv => H.Idiv,
        Mnemonic.Xadd => H.Xadd,
        Mnemonic.Cmpxchg => H.Cmpxchg,
        Mnemonic.Cmpxchg16b => H.Cmpxchg16b,
        Mnemonic.Cmpxchg8b => H.Cmpxchg8b,
        Mnemonic.Shl or Mnemonic.Sal => H.Shl,
        Mnemonic.Shr => H.Shr,
        Mnemonic.Sar => H.Sar,
        Mnemonic.Rol => H.Rol,
        Mnemonic.Ror => H.Ror,
        Mnemonic.Rcl => H.Rcl,
        Mnemonic.Rcr => H.Rcr,
        Mnemonic.Shld => H.Shld,
        Mnemonic.Shrd => H.Shrd,
        Mnemonic.Bt => H.Bt,
        Mnemonic.Bts => H.Bts,
        Mnemonic.Btr => H.Btr,
        Mnemonic.Btc => H.Btc,
        Mnemonic.Bsf => H.Bsf,
        Mnemonic.Bsr => H.Bsr,
        Mnemonic.Tzcnt => H.Tzcnt,
        Mnemonic.Lzcnt => H.Lzcnt,
        Mnemonic.Popcnt => H.Popcnt,
        Mnemonic.Mov => H.Mov,
        Mnemonic.Movzx => H.Movzx,
        Mnemonic.Movsx => H.Movsx,
        Mnemonic.Movsxd => H.Movsxd,
        Mnemonic.Movnti => H.Movnti,
        Mnemonic.Lea => H.Lea,
        Mnemonic.Xchg => H.Xchg,
        Mnemonic.Cmova or Mnemonic.Cmovae or Mnemonic.Cmovb or Mnemonic.Cmovbe or Mnemonic.Cmove or Mnemonic.Cmovg
            or Mnemonic.Cmovge or Mnemonic.Cmovl or Mnemonic.Cmovle or Mnemonic.Cmovne or Mnemonic.Cmovno
            or Mnemonic.Cmovnp or Mnemonic.Cmovns or Mnemonic.Cmovo or Mnemonic.Cmovp or Mnemonic.Cmovs => H.Cmovcc,
        Mnemonic.Seta or Mnemonic.Setae or Mnemonic.Setb or Mnemonic.Setbe or Mnemonic.Sete or Mnemonic.Setg
            or Mnemonic.Setge or Mnemonic.Setl or Mnemonic.Setle or Mnemonic.Setne or Mnemonic.Setno
            or Mnemonic.Setnp or Mnemonic.Setns or Mnemonic.Seto or Mnemonic.Setp or Mnemonic.Sets => H.Setcc,
        Mnemonic.Ja or Mnemonic.Jae or Mnemonic.Jb or Mnemonic.Jbe or Mnemonic.Je or Mnemonic.Jg
            or Mnemonic.Jge or Mnemonic.Jl or Mnemonic.Jle or Mnemonic.Jne or Mnemonic.Jno
            or Mnemonic.Jnp or Mnemonic.Jns or Mnemonic.Jo or Mnemonic.Jp or Mnemonic.Js => H.Jcc,
        Mnemonic.Bswap => H.Bswap,
        Mnemonic.Cbw or Mnemonic.Cwde or Mnemonic.Cdqe => H.Cbw,
        Mnemonic.Cwd or Mnemonic.Cdq or Mnemonic.Cqo => H.Cwd,
        Mnemonic.Push => H.Push,
        Mnemonic.Pop => H.Pop,
        Mnemonic.Call => H.Call,
        Mnemonic.Ret => H.Ret,
        Mnemonic.Retf => H.Retf,
        Mnemonic.Jmp => H.Jmp,
        Mnemonic.Jrcxz or Mnemonic.Jecxz => H.Jrcxz,
        Mnemonic.Loop => H.Loop,
        Mnemonic.Loope => H.Loope,
        Mnemonic.Loopne => H.Loopne,
        Mnemonic.Leave => H.Leave,
        Mnemonic.Enter => H.Enter,
        Mnemonic.Pushf or Mnemonic.Pushfq => H.Pushf,
        Mnemonic.Popf or Mnemonic.Popfq => H.Popf,
        Mnemonic.Lahf => H.Lahf,
        Mnemonic.Sahf => H.Sahf,
        Mnemonic.Clc => H.Clc,
        Mnemonic.Stc => H.Stc,
        Mnemonic.Cmc => H.Cmc,
        Mnemonic.Cld => H.Cld,
        Mnemonic.Std => H.Std,
        Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Movsd or Mnemonic.Movsq => H.Movs,
        Mnemonic.Stosb or Mnemonic.Stosw or Mnemonic.Stosd or Mnemonic.Stosq => H.Stos,
        Mnemonic.Lodsb or Mnemonic.Lodsw or Mnemonic.Lodsd or Mnemonic.Lodsq => H.Lods,
        Mnemonic.Cmpsb or Mnemonic.Cmpsw or Mnemonic.Cmpsd or Mnemonic.Cmpsq => H.Cmps,
        Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd or Mnemonic.Scasq => H.Scas,
        Mnemonic.In => H.In,
        Mnemonic.Out => H.Out,
        Mnemonic.Cpuid => H.Cpuid,
        Mnemonic.Rdtsc => H.Rdtsc,
        Mnemonic.Rdtscp => H.Rdtscp,
        Mnemonic.Rdmsr => H.Rdmsr,
        Mnemonic.Wrmsr => H.Wrmsr,
        Mnemonic.Lgdt => H.Lgdt,
        Mnemonic.Lidt => H.Lidt,
        Mnemonic.Sgdt => H.Sgdt,
        Mnemonic.Sidt => H.Sidt,
        Mnemonic.Ltr => H.Ltr,
        Mnemonic.Str => H.Str,
        Mnemonic.Lldt => H.Lldt,
        Mnemonic.Invlpg => H.Invlpg,
        Mnemonic.Cli => H.Cli,
        Mnemonic.Sti => H.Sti,
        Mnemonic.Hlt => H.Hlt,
        Mnemonic.Int3 => H.Int3,
        Mnemonic.Int => H.IntN,
        Mnemonic.Int1 => H.Int1,
        Mnemonic.Ud0 or Mnemonic.Ud1 or Mnemonic.Ud2 => H.Ud,
        Mnemonic.Iretq => H.Iretq,
        Mnemonic.Swapgs => H.Swapgs,
        Mnemonic.Clts => H.Clts,
        Mnemonic.Movdqa or Mnemonic.Movdqu or Mnemonic.Movaps or Mnemonic.Movups or Mnemonic.Movapd
            or Mnemonic.Movupd or Mnemonic.Movntdq or Mnemonic.Movntps or Mnemonic.Movntpd or Mnemonic.Lddqu => H.Movdqa,
        Mnemonic.Movd => H.MovdToXmm,
        Mnemonic.Pxor or Mnemonic.Xorps or Mnemonic.Xorpd => H.Pxor,
        Mnemonic.Por or Mnemonic.Orps or Mnemonic.Orpd => H.Por,
        Mnemonic.Pand or Mnemonic.Andps or Mnemonic.Andpd => H.Pand,
        Mnemonic.Pandn or Mnemonic.Andnps or Mnemonic.Andnpd => H.Pandn,
        Mnemonic.Pcmpeqb => H.Pcmpeqb,
        Mnemonic.Pcmpeqw => H.Pcmpeqw,
        Mnemonic.Pcmpeqd => H.Pcmpeqd,
        Mnemonic.Pcmpgtb => H.Pcmpgtb,
        Mnemonic.Pmovmskb => H.Pmovmskb,
        Mnemonic.Punpcklbw => H.Punpcklbw,
        Mnemonic.Punpcklwd => H.Punpcklwd,
        Mnemonic.Punpckldq => H.Punpckldq,
        Mnemonic.Punpcklqdq => H.Punpcklqdq,
        Mnemonic.Punpckhqdq => H.Punpckhqdq,
        Mnemonic.Pshufd => H.Pshufd,
        Mnemonic.Pshuflw => H.Pshuflw,
        Mnemonic.Pshufhw => H.Pshufhw,
        Mnemonic.Shufps => H.Shufps,
        Mnemonic.Paddb => H.Paddb,
        Mnemonic.Paddw => H.Paddw,
        Mnemonic.Paddd => H.Paddd,
        Mnemonic.Paddq => H.Paddq,
        Mnemonic.Psubb => H.Psubb,
        Mnemonic.Psubw => H.Psubw,
        Mnemonic.Psubd => H.Psubd,
        Mnemonic.Psubq => H.Psubq,
        Mnemonic.Pslldq => H.Pslldq,
        Mnemonic.Psrldq => H.Psrldq,
        Mnemonic.Psllq => H.Psllq,
        Mnemonic.Psrlq => H.Psrlq,
        Mnemonic.Movhps or Mnemonic.Movhpd => H.Movhps,
        Mnemonic.Movlps or Mnemonic.Movlpd => H.Movlps,
        Mnemonic.Movhlps => H.Movhlps,
        Mnemonic.Movlhps => H.Movlhps,
        Mnemonic.Pminub => H.Pminub,
        Mnemonic.Pinsrw => H.Pinsrw,
        Mnemonic.Pextrw => H.Pextrw,
        Mnemonic.Stmxcsr => H.Stmxcsr,
        Mnemonic.Ldmxcsr => H.Ldmxcsr,
        _ => H.Unimplemented,
    };
}
