/*
 * compute: a deterministic, compute-bound loop for measuring guest MIPS. Mixes a xorshift generator, multiplies,
 * shifts, a data-dependent branch and small table updates, then prints a checksum (the same on every machine
 * and every run). The iteration count comes from "iterations=N" on the command line (default 2,000,000).
 * Exits with status 0.
 */
#include "../lib/runtime.h"

#define TABLE_SIZE 256

static uint32_t table[TABLE_SIZE];

int main(const struct boot_info *bi)
{
    uint64_t iterations = cmdline_get_u64(boot_info_cmdline(bi), "iterations", 2000000);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    uint64_t sum = 0;
    for (int i = 0; i < TABLE_SIZE; i++)
        table[i] = (uint32_t)i * 2654435761u;

    uint64_t start = rdtsc();
    for (uint64_t i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t slot = (uint32_t)(x >> 56);
        uint32_t t = table[slot];
        if (t & 1)
            sum += (x * 31) ^ t;
        else
            sum -= (x >> 3) + t;
        table[slot] = t + (uint32_t)x;
    }
    uint64_t ticks = rdtsc() - start;

    printf("compute: iterations %llu checksum 0x%016llx\n", (unsigned long long)iterations, (unsigned long long)sum);
    printf("compute: %llu tsc ticks\n", (unsigned long long)ticks);
    return 0;
}
