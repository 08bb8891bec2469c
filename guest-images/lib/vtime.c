#include "vtime.h"

static uint64_t g_tsc_hz = VTIME_DEFAULT_TSC_HZ;
static uint64_t g_tsc0;
static bool g_calibrated;

#define PIT_HZ 1193182u
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_GATE 0x61
#define CAL_MS 10u
#define CAL_POLL_LIMIT 50000000u

/* Gate channel 2, mode 0 one-shot of CAL_MS, poll OUT2 (port 0x61 bit 5); bounded by CAL_POLL_LIMIT reads. */
static uint64_t pit_calibrate(void)
{
    uint16_t count = (uint16_t)(PIT_HZ * CAL_MS / 1000u);
    uint8_t g = inb(PIT_GATE);
    outb(PIT_GATE, (uint8_t)((g & ~0x02) | 0x01)); /* gate on, speaker off */
    outb(PIT_CMD, 0xB0);                          /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(PIT_CH2, (uint8_t)count);
    outb(PIT_CH2, (uint8_t)(count >> 8));
    uint64_t t0 = rdtsc();
    uint32_t i = 0;
    while (!(inb(PIT_GATE) & 0x20) && ++i < CAL_POLL_LIMIT) {
    }
    uint64_t t1 = rdtsc();
    outb(PIT_GATE, g);
    if (i >= CAL_POLL_LIMIT || t1 <= t0) return 0;
    return (t1 - t0) * 1000u / CAL_MS;
}

void vtime_init(const struct boot_info *bi)
{
    if (boot_info_valid(bi) && bi->tsc_hz) {
        g_tsc_hz = bi->tsc_hz;
        g_calibrated = false;
    } else {
        uint64_t hz = pit_calibrate();
        if (hz > 1000000u) {
            g_tsc_hz = hz;
            g_calibrated = true;
        } else {
            g_tsc_hz = VTIME_DEFAULT_TSC_HZ;
            printf("vtime: no tsc_hz and PIT calibration failed; assuming %llu Hz\n",
                   (unsigned long long)g_tsc_hz);
        }
    }
    g_tsc0 = rdtsc();
}

uint64_t vtime_tsc_hz(void) { return g_tsc_hz; }
bool vtime_calibrated(void) { return g_calibrated; }

uint64_t vtime_ticks_to_ns(uint64_t ticks)
{
    return (uint64_t)((unsigned __int128)ticks * 1000000000u / g_tsc_hz);
}

uint64_t vtime_ns_to_ticks(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * g_tsc_hz / 1000000000u);
}

uint64_t vtime_ns(void) { return vtime_ticks_to_ns(rdtsc() - g_tsc0); }
