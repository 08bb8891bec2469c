/*
 * Compute-bound guest for the vCPU MIPS benchmark: xorshift fill, quicksort, CRC-32, 64-bit hashing and a
 * 128-bit multiply per round. Freestanding, linked flat at 0x100000 (see Makefile). The host writes the round
 * count at 0x8000 and reads the checksum back from 0x8008 when the guest halts.
 */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#define N 512

static u32 data[N];

static u64 xorshift(u64 *s)
{
    u64 x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void quicksort(u32 *a, long lo, long hi)
{
    while (lo < hi) {
        u32 pivot = a[(lo + hi) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) { u32 t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; }
        else { quicksort(a, i, hi); hi = j; }
    }
}

static u32 crc32(const u8 *p, u64 n)
{
    u32 c = 0xFFFFFFFFu;
    for (u64 i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

static u64 fnv(const u32 *a, int n)
{
    u64 h = 0xcbf29ce484222325ul;
    for (int i = 0; i < n; i++) { h ^= a[i]; h *= 0x100000001b3ul; }
    return h;
}

__attribute__((section(".text.entry"), noreturn)) void _start(void)
{
    u64 rounds = *(volatile u64 *)0x8000;
    u64 seed = 0x9E3779B97F4A7C15ul, acc = 0;
    for (u64 r = 0; r < rounds; r++) {
        for (int i = 0; i < N; i++) data[i] = (u32)xorshift(&seed);
        quicksort(data, 0, N - 1);
        acc ^= crc32((const u8 *)data, 256);
        unsigned __int128 m = (unsigned __int128)fnv(data, N) * (acc | 1);
        acc += (u64)(m >> 64) ^ (u64)m;
    }
    *(volatile u64 *)0x8008 = acc;
    for (;;) __asm__ volatile("cli; hlt");
}
