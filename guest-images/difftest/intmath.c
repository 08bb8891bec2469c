/* Differential test: integer maths (division and remainder of every sign and size, gcd, primes, isqrt, powmod),
 * 128-bit arithmetic and bit tricks (popcount, ctz/clz, bswap, rotates, bit reversal, parity). */
#include "difftest.h"

static u64 gcd(u64 a, u64 b)
{
    while (b) {
        u64 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static u64 isqrt(u64 n)
{
    u64 x = n, y = (x + 1) / 2;
    if (n < 2)
        return n;
    while (y < x) {
        x = y;
        y = (x + n / x) / 2;
    }
    return x;
}

static u64 powmod(u64 b, u64 e, u64 m)
{
    unsigned __int128 r = 1, base = b % m;
    while (e) {
        if (e & 1)
            r = (r * base) % m;
        base = (base * base) % m;
        e >>= 1;
    }
    return (u64)r;
}

static void print_u128(const char *name, unsigned __int128 v)
{
    printf("%s=0x%016llx%016llx\n", name, (u64)(v >> 64), (u64)v);
}

static u64 reverse_bits(u64 v)
{
    u64 r = 0;
    for (int i = 0; i < 64; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

static u64 rotl(u64 v, unsigned n) { return (v << (n & 63)) | (v >> ((64 - n) & 63)); }

DIFFTEST_MAIN
{
    static const s64 nums[] = { 0, 1, -1, 7, -7, 100, -100, 0x7fffffffffffffffLL, -0x7fffffffffffffffLL - 1, 123456789012345LL };
    static const s64 dens[] = { 1, -1, 3, -3, 10, 7, -1000, 0x100000001LL };
    u64 acc = 0;
    for (unsigned i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        for (unsigned j = 0; j < sizeof dens / sizeof dens[0]; j++) {
            s64 n = nums[i], d = dens[j];
            DT_OPAQUE(n);
            DT_OPAQUE(d);
            if (d == -1 && n == -0x7fffffffffffffffLL - 1)
                continue; /* the one quotient that overflows */
            s64 q = n / d, r = n % d;
            int nq = (int)n / (int)d;
            int nr = (int)d != 0 ? (int)n % ((int)d == 0 ? 1 : (int)d) : 0;
            short sq = (short)((short)n / ((short)d == 0 ? 1 : (short)d));
            u64 uq = (u64)n / (u64)d, ur = (u64)n % (u64)d;
            acc = acc * 31 + (u64)q + (u64)r * 7 + (u64)(unsigned)nq + (u64)(unsigned)nr + (u64)(unsigned short)sq + uq + ur;
        }
    }
    printf("division checksum 0x%016llx\n", acc);

    u64 state = 42;
    u64 g = 0;
    for (int i = 0; i < 200; i++)
        g += gcd(dt_next(&state) >> 20, dt_next(&state) >> 30);
    printf("gcd sum %llu\n", g);

    static unsigned char sieve[20000];
    unsigned primes = 0, last = 0;
    for (unsigned i = 2; i < sizeof sieve; i++) {
        if (sieve[i])
            continue;
        primes++;
        last = i;
        for (unsigned k = i * 2; k < sizeof sieve; k += i)
            sieve[k] = 1;
    }
    printf("primes below %u: %u, largest %u\n", (unsigned)sizeof sieve, primes, last);

    for (u64 n = 1; n < 1000000000000ULL; n = n * 37 + 11)
        printf("isqrt(%llu)=%llu\n", n, isqrt(n));
    printf("powmod %llu %llu\n", powmod(3, 1000003, 1000000007ULL), powmod(0xfffffffffffffffULL, 0x123456789ULL, 0xffffffffffffffc5ULL));

    /* 128-bit arithmetic */
    unsigned __int128 a = ((unsigned __int128)0x0123456789abcdefULL << 64) | 0xfedcba9876543210ULL;
    unsigned __int128 b = 0xdeadbeefcafebabeULL;
    DT_OPAQUE(b);
    print_u128("a*b", a * b);
    print_u128("a/b", a / b);
    print_u128("a%b", a % b);
    print_u128("a<<77", a << 77);
    print_u128("a>>67", a >> 67);
    __int128 sa = -(__int128)a;
    print_u128("-a/7", (unsigned __int128)(sa / 7));
    print_u128("-a%7", (unsigned __int128)(sa % 7));
    print_u128("-a>>3", (unsigned __int128)(sa >> 3));
    print_u128("a/(b<<40)", a / ((unsigned __int128)b << 40));
    u64 hi = 0, lo = 0;
    for (int i = 0; i < 100; i++) {
        unsigned __int128 p = (unsigned __int128)dt_next(&state) * dt_next(&state);
        hi ^= (u64)(p >> 64);
        lo += (u64)p;
    }
    printf("mulx fold %016llx %016llx\n", hi, lo);

    /* bit tricks */
    u64 bits = 0;
    for (int i = 0; i < 64; i++) {
        u64 v = dt_next(&state) >> (i & 31);
        DT_OPAQUE(v);
        int pc = __builtin_popcountll(v);
        int tz = v ? __builtin_ctzll(v) : 64;
        int lz = v ? __builtin_clzll(v) : 64;
        unsigned w = (unsigned)v;
        int tz32 = w ? __builtin_ctz(w) : 32;
        int lz32 = w ? __builtin_clz(w) : 32;
        u64 bs = __builtin_bswap64(v);
        unsigned bs32 = __builtin_bswap32(w);
        u64 lowest = v & -v, cleared = v & (v - 1), mask = v ^ (v - 1);
        int parity = __builtin_parityll(v);
        u64 np2 = v ? 1ULL << (63 - __builtin_clzll(v)) : 0;
        bits = bits * 1099511628211ULL ^ (u64)(pc + tz * 3 + lz * 5 + tz32 * 7 + lz32 * 11 + parity) ^ bs ^ bs32 ^ lowest ^ cleared ^ mask ^ np2
            ^ rotl(v, (unsigned)i) ^ reverse_bits(v);
        if (i < 4)
            printf("v=%016llx pc=%d tz=%d lz=%d bswap=%016llx rotl13=%016llx rev=%016llx\n", v, pc, tz, lz, bs, rotl(v, 13), reverse_bits(v));
    }
    printf("bits checksum 0x%016llx\n", bits);

    int sx = -5;
    DT_OPAQUE(sx);
    printf("shifts %d %d %u %lld %llx\n", sx >> 1, sx << 3, (unsigned)sx >> 28, (s64)sx >> 63, (u64)(s64)sx >> 4);
    printf("intmath: done\n");
    return 0;
}
