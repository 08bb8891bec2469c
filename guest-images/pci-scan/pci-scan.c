#include "../lib/stack.h"
static struct stack st;
int main(const struct boot_info *bi)
{
    platform_init(&st, bi);
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1B));
    printf("apicbase %x:%x svr %x lvt %x tpr %x\n", hi, lo, mmio_read32(0xFEE000F0), mmio_read32(0xFEE00320), mmio_read32(0xFEE00080));
    apic_timer_oneshot_ns(1000000);
    printf("lvt %x init %x cur %x\n", mmio_read32(0xFEE00320), mmio_read32(0xFEE00380), mmio_read32(0xFEE00390));
    irq_enable();
    uint64_t d = vtime_deadline(20000000);
    while (!vtime_expired(d)) cpu_relax();
    irq_disable();
    printf("timer irqs %llu cur %x irr1 %x isr1 %x\n", (unsigned long long)irq_count(0x20), mmio_read32(0xFEE00390), mmio_read32(0xFEE00210), mmio_read32(0xFEE00110));
    return 0;
}
