/*
 * Differential tests: each program here is compiled twice with the same flags — as a guest image (printf to the
 * serial console through guest-images/lib) and for the host (-DDIFFTEST_HOST, the C library's printf to stdout).
 * The guest's serial output must equal the host program's stdout byte for byte. Programs print only with the
 * conversions both printfs format identically: %d %u %x %llu %lld %llx %s %c, with flags, width and precision.
 */
#ifndef DIFFTEST_H
#define DIFFTEST_H

#ifdef DIFFTEST_HOST
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#define DIFFTEST_MAIN int main(void)
#else
#include "../lib/runtime.h"
#define DIFFTEST_MAIN int main(const struct boot_info *bi UNUSED)
#endif

typedef unsigned long long u64;
typedef long long s64;

/* A tiny deterministic generator shared by every program (xorshift64*). */
static inline u64 dt_next(u64 *state)
{
    u64 x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Keeps the compiler from folding a value computed from constants. */
#define DT_OPAQUE(x) __asm__ volatile("" : "+r"(x))

#endif
