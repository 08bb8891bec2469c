/* Differential test: hashing (CRC-32, FNV-1a, SipHash-2-4, a multiplicative mix) and sorting (quicksort with a
 * comparator, merge sort, insertion sort, binary search) over deterministic data. */
#include "difftest.h"

#define N 3000

static uint32_t crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

static u64 fnv1a(const unsigned char *p, size_t n)
{
    u64 h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

#define ROTL(x, b) (u64)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
    do { \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
    } while (0)

static u64 siphash24(const unsigned char *in, size_t len, u64 k0, u64 k1)
{
    u64 v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    u64 v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        u64 m;
        memcpy(&m, in + i, 8);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    u64 b = (u64)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (u64)in[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u32_desc(const void *a, const void *b) { return cmp_u32(b, a); }

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        unsigned char t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

/* Our own quicksort (median of three, insertion sort below 8), so host and guest run the same code. */
static void dt_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    unsigned char *a = base;
    while (n > 8) {
        size_t mid = n / 2;
        if (cmp(a + mid * size, a) < 0) swap_bytes(a + mid * size, a, size);
        if (cmp(a + (n - 1) * size, a) < 0) swap_bytes(a + (n - 1) * size, a, size);
        if (cmp(a + (n - 1) * size, a + mid * size) < 0) swap_bytes(a + (n - 1) * size, a + mid * size, size);
        swap_bytes(a + mid * size, a + (n - 2) * size, size);
        unsigned char *pivot = a + (n - 2) * size;
        size_t i = 0, j = n - 2;
        for (;;) {
            while (cmp(a + (++i) * size, pivot) < 0) {}
            while (j > 0 && cmp(a + (--j) * size, pivot) > 0) {}
            if (i >= j)
                break;
            swap_bytes(a + i * size, a + j * size, size);
        }
        swap_bytes(a + i * size, pivot, size);
        if (i < n - i - 1) {
            dt_qsort(a, i, size, cmp);
            a += (i + 1) * size;
            n -= i + 1;
        } else {
            dt_qsort(a + (i + 1) * size, n - i - 1, size, cmp);
            n = i;
        }
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && cmp(a + (j - 1) * size, a + j * size) > 0; j--)
            swap_bytes(a + (j - 1) * size, a + j * size, size);
}

static s64 tmp[N];

static void merge_sort(s64 *v, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(v, h);
    merge_sort(v + h, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = v[i] <= v[j] ? v[i++] : v[j++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof v[0]);
}

static uint32_t keys[N];
static s64 values[N];
static unsigned short shorts[N];
static unsigned char text[4096];

DIFFTEST_MAIN
{
    u64 state = 0x1234567;
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (unsigned char)(dt_next(&state) >> 56);
    for (size_t len = 0; len <= sizeof text; len = len ? len * 3 : 1)
        printf("len %4u crc32 %08x fnv1a %016llx sip %016llx\n", (unsigned)len, crc32(text, len), fnv1a(text, len),
               siphash24(text, len, 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL));
    const char *s = "The quick brown fox jumps over the lazy dog";
    printf("crc32(\"%s\") = %08x\n", s, crc32((const unsigned char *)s, strlen(s)));

    for (int i = 0; i < N; i++) {
        keys[i] = (uint32_t)(dt_next(&state) >> 40);
        values[i] = (s64)dt_next(&state) >> 7;
        shorts[i] = (unsigned short)dt_next(&state);
    }
    dt_qsort(keys, N, sizeof keys[0], cmp_u32);
    int sorted = 1;
    for (int i = 1; i < N; i++)
        sorted &= keys[i - 1] <= keys[i];
    printf("qsort asc sorted=%d first %u %u %u last %u crc %08x\n", sorted, keys[0], keys[1], keys[2], keys[N - 1],
           crc32((const unsigned char *)keys, sizeof keys));
    dt_qsort(keys, N, sizeof keys[0], cmp_u32_desc);
    printf("qsort desc first %u last %u\n", keys[0], keys[N - 1]);
    merge_sort(values, N);
    sorted = 1;
    for (int i = 1; i < N; i++)
        sorted &= values[i - 1] <= values[i];
    printf("merge sorted=%d min %lld median %lld max %lld\n", sorted, values[0], values[N / 2], values[N - 1]);
    for (int i = 1; i < N; i++) {
        unsigned short k = shorts[i];
        int j = i - 1;
        while (j >= 0 && shorts[j] > k) {
            shorts[j + 1] = shorts[j];
            j--;
        }
        shorts[j + 1] = k;
    }
    printf("insertion min %u max %u fnv %016llx\n", shorts[0], shorts[N - 1], fnv1a((const unsigned char *)shorts, sizeof shorts));
    int found = 0;
    for (int t = 0; t < 500; t++) {
        s64 want = t % 2 ? values[(t * 7919) % N] : (s64)dt_next(&state) >> 7;
        size_t lo = 0, hi = N;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (values[mid] < want)
                lo = mid + 1;
            else
                hi = mid;
        }
        found += lo < N && values[lo] == want;
    }
    printf("binary search found %d of 500\n", found);
    printf("hashsort: done\n");
    return 0;
}
