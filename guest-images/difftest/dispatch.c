/* Differential test: switch jump tables, function pointers (tables, callbacks, a tiny bytecode VM) and struct
 * copies (assignment, by value in and out, arrays of structs, memmove with overlap). Built without
 * -mgeneral-regs-only so gcc uses SSE for the copies. */
#include "difftest.h"

struct small { uint32_t a; uint16_t b; uint8_t c; };
struct medium { u64 x, y, z; uint32_t w; char tag[12]; };
struct large { struct medium m[4]; s64 sum; unsigned char pad[37]; };

static __attribute__((noinline)) struct medium make_medium(u64 seed)
{
    struct medium m = { seed, seed * 3, ~seed, (uint32_t)seed ^ 0x55aa, "medium" };
    m.tag[7] = (char)('a' + seed % 26);
    return m;
}

static __attribute__((noinline)) struct large transform(struct large l, int k)
{
    for (int i = 0; i < 4; i++) {
        l.m[i].x += (u64)k;
        l.m[i].z ^= l.m[(i + 1) & 3].y;
        l.sum += (s64)l.m[i].x;
    }
    l.pad[k % 37] ^= (unsigned char)k;
    return l;
}

static u64 fold_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    u64 h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static __attribute__((noinline)) int classify(int v)
{
    switch (v) {
    case 0: return 11;
    case 1: return 23;
    case 2: return -5;
    case 3: return 47;
    case 4: return 8;
    case 5: return 90;
    case 6: return -77;
    case 7: return 3;
    case 8: return 1000;
    case 9: return 12;
    case 10: return -1;
    case 11: return 64;
    case 13: return 99;
    case 17: return 7;
    default: return v * 2;
    }
}

static __attribute__((noinline)) const char *name_of(unsigned v)
{
    switch (v & 15) {
    case 0: return "zero"; case 1: return "one"; case 2: return "two"; case 3: return "three";
    case 4: return "four"; case 5: return "five"; case 6: return "six"; case 7: return "seven";
    case 8: return "eight"; case 9: return "nine"; case 10: return "ten"; case 11: return "eleven";
    case 12: return "twelve"; case 13: return "thirteen"; case 14: return "fourteen"; default: return "fifteen";
    }
}

static s64 op_add(s64 a, s64 b) { return a + b; }
static s64 op_sub(s64 a, s64 b) { return a - b; }
static s64 op_mul(s64 a, s64 b) { return a * b; }
static s64 op_div(s64 a, s64 b) { return b ? a / b : 0; }
static s64 op_xor(s64 a, s64 b) { return a ^ b; }
static s64 op_shl(s64 a, s64 b) { return (s64)((u64)a << (b & 31)); }

static s64 (*const ops[])(s64, s64) = { op_add, op_sub, op_mul, op_div, op_xor, op_shl };

/* A stack machine: opcodes 0..5 are the ops above, 6 pushes an immediate, 7 duplicates, 8 swaps. */
static s64 run_vm(const int *code, int n)
{
    s64 stack[32];
    int sp = 0;
    for (int pc = 0; pc < n; pc++) {
        int op = code[pc];
        if (op < 6) {
            s64 b = stack[--sp], a = stack[--sp];
            stack[sp++] = ops[op](a, b);
        } else if (op == 6) {
            stack[sp++] = code[++pc];
        } else if (op == 7) {
            stack[sp] = stack[sp - 1];
            sp++;
        } else {
            s64 t = stack[sp - 1];
            stack[sp - 1] = stack[sp - 2];
            stack[sp - 2] = t;
        }
    }
    return stack[sp - 1];
}

static void for_each(const int *v, int n, void (*fn)(int, void *), void *ctx)
{
    for (int i = 0; i < n; i++)
        fn(v[i], ctx);
}

static void accumulate(int v, void *ctx) { *(s64 *)ctx = *(s64 *)ctx * 3 + v; }
static void count_odd(int v, void *ctx) { *(int *)ctx += v & 1; }

static struct large arr[8];

DIFFTEST_MAIN
{
    s64 total = 0;
    for (int v = -3; v < 40; v++)
        total = total * 7 + classify(v);
    printf("switch total %lld\n", total);
    for (unsigned v = 0; v < 20; v += 3)
        printf("name_of(%u) = %s\n", v, name_of(v));

    static const int prog[] = { 6, 7, 6, 5, 2, 7, 6, 3, 0, 8, 1, 6, 100, 5, 6, 1000, 4, 6, 3, 3 };
    printf("vm result %lld\n", run_vm(prog, (int)(sizeof prog / sizeof prog[0])));
    s64 fsum = 0;
    for (int i = 0; i < 600; i++)
        fsum = ops[i % 6](fsum, i * 7 + 1) & 0xffffffffffLL;
    printf("function table %lld\n", fsum);
    static const int data[] = { 5, 8, 13, 21, 34, 55, 89, 144, 233 };
    s64 acc = 0;
    int odd = 0;
    for_each(data, 9, accumulate, &acc);
    for_each(data, 9, count_odd, &odd);
    printf("callbacks acc %lld odd %d\n", acc, odd);

    struct small s1 = { 0x12345678, 0x9abc, 0xde }, s2;
    s2 = s1;
    s2.c++;
    printf("small %x %x %x\n", s2.a, s2.b, s2.c);
    struct large l;
    memset(&l, 0, sizeof l);
    for (int i = 0; i < 4; i++)
        l.m[i] = make_medium((u64)i * 1234567 + 1);
    for (int k = 0; k < 8; k++) {
        arr[k] = transform(l, k);
        l = arr[k];
    }
    struct large copy = arr[7];
    printf("large sum %lld tag %s fold %016llx\n", copy.sum, copy.m[2].tag, fold_bytes(&copy, sizeof copy));
    struct medium ms[6];
    for (int i = 0; i < 6; i++)
        ms[i] = make_medium((u64)i);
    memmove(&ms[1], &ms[0], 4 * sizeof ms[0]);
    memmove(&ms[0], &ms[2], 3 * sizeof ms[0]);
    printf("memmove fold %016llx\n", fold_bytes(ms, sizeof ms));
    char buf[64];
    memset(buf, '.', sizeof buf);
    memcpy(buf + 3, "struct copies", 13);
    buf[40] = 0;
    printf("buffer [%s]\n", buf);
    printf("dispatch: done\n");
    return 0;
}
