/*
 * Virtual time from rdtsc. The VMM passes tsc_hz in the boot-info block (its TSC counts virtual time). Under PVH
 * (QEMU) the field is 0 and vtime_init calibrates the TSC against the 8254 PIT (channel 2, 10 ms gate); if that
 * fails it uses VTIME_DEFAULT_TSC_HZ (1 GHz, the VMM's default) and says so.
 */
#ifndef GUEST_VTIME_H
#define GUEST_VTIME_H

#include "runtime.h"

#define VTIME_DEFAULT_TSC_HZ 1000000000ull

void vtime_init(const struct boot_info *bi);
uint64_t vtime_tsc_hz(void);
bool vtime_calibrated(void);      /* true when tsc_hz came from the PIT rather than boot-info */
uint64_t vtime_ns(void);          /* nanoseconds since vtime_init */
uint64_t vtime_ticks_to_ns(uint64_t ticks);
uint64_t vtime_ns_to_ticks(uint64_t ns);

/* A deadline for bounded polls: vtime_deadline(ns) then vtime_expired(d). */
static inline uint64_t vtime_deadline(uint64_t ns) { return rdtsc() + vtime_ns_to_ticks(ns); }
static inline bool vtime_expired(uint64_t deadline) { return (int64_t)(rdtsc() - deadline) > 0; }

#endif
