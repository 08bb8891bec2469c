/*
 * Host-CPU oracle for the vCPU's flag tests: runs each ALU instruction on the host x86-64 processor with edge
 * values at every operand size and prints "op size a b cin rax rdx rflags" (hex) lines.
 * Build and regenerate (the output is committed as flags_oracle.txt):
 *   gcc -O1 -o /tmp/flags_oracle flags_oracle.c && /tmp/flags_oracle > flags_oracle.txt
 */
#include <stdint.h>
#include <stdio.h>

typedef uint64_t u64;

static const u64 values[] = {
    0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
    0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, 0xFFFFFFFFFFFFFFFFull, 0x123456789ABCDEF0ull, 0xFEDCBA9876543210ull,
};
#define NV (sizeof(values) / sizeof(values[0]))

/* rax = a, rbx = b, rcx = b (shift count), rdx = d, flags = cin; run insn; capture rax, rdx, flags. */
#define RUN(insn)                                                                                              \
    __asm__ volatile("push %[cin]\n\tpopfq\n\t" insn "\n\tpushfq\n\tpop %[fl]"                               \
                     : "+a"(rax), "+d"(rdx), [fl] "=&r"(fl)                                                    \
                     : "b"(b), "c"(b), [cin] "r"(cin)                                                          \
                     : "cc")

#define OP4(name, i8, i16, i32, i64)                                                                           \
    static void name(int size, u64 a, u64 b, u64 d, u64 cin, u64 *ra, u64 *rd, u64 *rf)                      \
    {                                                                                                          \
        u64 rax = a, rdx = d, fl = 0;                                                                          \
        switch (size) {                                                                                        \
        case 1: RUN(i8); break;                                                                                \
        case 2: RUN(i16); break;                                                                               \
        case 4: RUN(i32); break;                                                                               \
        default: RUN(i64); break;                                                                              \
        }                                                                                                      \
        *ra = rax; *rd = rdx; *rf = fl;                                                                        \
    }

#define BIN(name, m) OP4(op_##name, m " %%bl, %%al", m " %%bx, %%ax", m " %%ebx, %%eax", m " %%rbx, %%rax")
#define UN(name, m) OP4(op_##name, m "b %%al", m "w %%ax", m "l %%eax", m "q %%rax")
#define SH(name, m) OP4(op_##name, m " %%cl, %%al", m " %%cl, %%ax", m " %%cl, %%eax", m " %%cl, %%rax")
#define MD(name, m) OP4(op_##name, m "b %%bl", m "w %%bx", m "l %%ebx", m "q %%rbx")

BIN(add, "add") BIN(sub, "sub") BIN(adc, "adc") BIN(sbb, "sbb") BIN(and, "and") BIN(or, "or") BIN(xor, "xor")
BIN(cmp, "cmp") BIN(test, "test")
UN(inc, "inc") UN(dec, "dec") UN(neg, "neg") UN(not, "not")
SH(shl, "shl") SH(shr, "shr") SH(sar, "sar") SH(rol, "rol") SH(ror, "ror") SH(rcl, "rcl") SH(rcr, "rcr")
MD(mul, "mul") MD(imul, "imul") MD(div, "div") MD(idiv, "idiv")

typedef void (*opfn)(int, u64, u64, u64, u64, u64 *, u64 *, u64 *);
struct op { const char *name; opfn fn; int kind; }; /* kind: 0 binary, 1 unary, 2 shift, 3 mul, 4 div, 5 idiv */
static const struct op ops[] = {
    {"add", op_add, 0}, {"sub", op_sub, 0}, {"adc", op_adc, 0}, {"sbb", op_sbb, 0}, {"and", op_and, 0},
    {"or", op_or, 0}, {"xor", op_xor, 0}, {"cmp", op_cmp, 0}, {"test", op_test, 0}, {"inc", op_inc, 1},
    {"dec", op_dec, 1}, {"neg", op_neg, 1}, {"not", op_not, 1}, {"shl", op_shl, 2}, {"shr", op_shr, 2},
    {"sar", op_sar, 2}, {"rol", op_rol, 2}, {"ror", op_ror, 2}, {"rcl", op_rcl, 2}, {"rcr", op_rcr, 2},
    {"mul", op_mul, 3}, {"imul", op_imul, 3}, {"div", op_div, 4}, {"idiv", op_idiv, 5},
};

static u64 mask(int size) { return size == 8 ? ~0ull : (1ull << (size * 8)) - 1; }
static __int128 sx(u64 v, int size) { int sh = 64 - size * 8; return (__int128)((int64_t)(v << sh) >> sh); }

int main(void)
{
    static const int sizes[] = {1, 2, 4, 8};
    for (unsigned o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
        for (int s = 0; s < 4; s++) {
            int size = sizes[s], bits = size * 8;
            for (unsigned i = 0; i < NV; i++)
                for (unsigned j = 0; j < NV; j++)
                    for (u64 cin = 0x2; cin <= 0x3; cin++) {
                        u64 a = values[i], b = values[j], d = 0, ra, rd, rf;
                        if (ops[o].kind == 1 && j != 0) continue;
                        if (ops[o].kind == 2) {
                            /* counts 0, 1, 3, bits-1 only: CF is undefined past the operand width */
                            static const int counts[] = {0, 1, 3, -1};
                            if (j >= 4) continue;
                            b = counts[j] < 0 ? (u64)(bits - 1) : (u64)counts[j];
                        }
                        if (ops[o].kind >= 4) {
                            u64 dv = b & mask(size);
                            if (dv == 0) continue;
                            if (ops[o].kind == 4) {
                                if (size == 1) { if (((a & 0xFFFF) / dv) > 0xFF) continue; }
                            } else {
                                __int128 dividend = size == 1 ? sx(a, 2) : sx(a, size);
                                __int128 q = dividend / sx(dv, size);
                                __int128 lim = (__int128)1 << (bits - 1);
                                if (q >= lim || q < -lim) continue;
                                d = sx(a, size) < 0 ? ~0ull : 0;
                            }
                        }
                        ops[o].fn(size, a, b, d, cin, &ra, &rd, &rf);
                        printf("%s %d %llx %llx %llx %llx %llx %llx %llx\n", ops[o].name, size, (unsigned long long)a,
                               (unsigned long long)b, (unsigned long long)d, (unsigned long long)cin,
                               (unsigned long long)ra, (unsigned long long)rd, (unsigned long long)(rf & 0x8D5));
                    }
        }
    return 0;
}
