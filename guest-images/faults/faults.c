/*
 * faults: a guest that misbehaves on purpose, chosen by "fault=N" on the command line, so the tests can check that
 * the machine stops it with a defined status and a clear message:
 *   1 jumps into the void (an address the identity map does not cover)     → page fault, no IDT → triple fault
 *   2 executes garbage (bytes that are no instruction)                        → #UD, no IDT → triple fault
 *   3 a triple fault on purpose (an empty IDT, then INT3)                    → triple fault
 *   4 halts with interrupts disabled                                          → halted
 *   5 spins forever                                                           → the run's time or instruction limit
 *   6 touches the 8 MiB array in bss and exits 0 (the image needs > 9 MiB of RAM: with -m 8 it does not fit)
 * Anything else prints the choices and exits with 1.
 */
#include "../lib/runtime.h"

#define BIG_SIZE (8u << 20)

static unsigned char big[BIG_SIZE];
static unsigned char garbage[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

int main(const struct boot_info *bi)
{
    uint64_t fault = cmdline_get_u64(boot_info_cmdline(bi), "fault", 0);
    printf("faults: fault=%llu\n", (unsigned long long)fault);
    switch (fault) {
    case 1: {
        void (*nowhere)(void) = (void (*)(void))0x0000100000000000ull; /* 16 TiB: not mapped */
        nowhere();
        break;
    }
    case 2: {
        void (*junk)(void) = (void (*)(void))(uintptr_t)garbage;
        junk();
        break;
    }
    case 3: {
        struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr = { 0, 0 };
        __asm__ volatile("lidt %0; int3" : : "m"(idtr));
        break;
    }
    case 4:
        cli();
        for (;;)
            hlt();
    case 5:
        for (;;)
            __asm__ volatile("" ::: "memory");
    case 6:
        for (uint32_t i = 0; i < BIG_SIZE; i += 4096)
            big[i] = (unsigned char)i;
        printf("faults: big array at %p touched\n", (void *)big);
        return 0;
    default:
        break;
    }
    printf("faults: choose fault=1 (void) 2 (garbage) 3 (triple fault) 4 (halt) 5 (spin) 6 (big bss)\n");
    return 1;
}
