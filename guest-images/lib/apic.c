#include "apic.h"
#include "mmio.h"
#include "vtime.h"

#define APIC_ID 0x20
#define APIC_EOI 0xB0
#define APIC_SVR 0xF0
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3E0
#define LVT_MASKED 0x10000u
#define LVT_PERIODIC 0x20000u

struct idt_gate {
    uint16_t off0;
    uint16_t sel;
    uint8_t ist;
    uint8_t type;
    uint16_t off1;
    uint32_t off2;
    uint32_t zero;
} __attribute__((packed));

static struct idt_gate g_idt[256] __attribute__((aligned(16)));
static irq_handler_t g_handlers[256];
static void *g_handler_ctx[256];
static uint64_t g_irq_counts[256];
static uint64_t g_apic_hz;

extern char idt_stubs[];

static uint32_t apic_read(uint32_t reg) { return mmio_read32(APIC_BASE + reg); }
static void apic_write(uint32_t reg, uint32_t v) { mmio_write32(APIC_BASE + reg, v); }

void idt_dispatch(uint64_t vector, uint64_t error, uint64_t rip);

void idt_dispatch(uint64_t vector, uint64_t error, uint64_t rip)
{
    if (vector < 32) {
        uint64_t cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        printf("FATAL: exception %llu error 0x%llx at rip 0x%llx cr2 0x%llx\n", (unsigned long long)vector,
               (unsigned long long)error, (unsigned long long)rip, (unsigned long long)cr2);
        debug_exit(0x7F);
    }
    g_irq_counts[vector]++;
    if (vector == APIC_SPURIOUS_VECTOR) return; /* no EOI for spurious */
    if (g_handlers[vector]) g_handlers[vector]((uint8_t)vector, g_handler_ctx[vector]);
    apic_eoi();
}

void idt_init(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    for (int v = 0; v < 256; v++) {
        uint64_t a = (uint64_t)(uintptr_t)(idt_stubs + 16 * v);
        g_idt[v].off0 = (uint16_t)a;
        g_idt[v].sel = cs;
        g_idt[v].ist = 0;
        g_idt[v].type = 0x8E; /* present, DPL 0, 64-bit interrupt gate */
        g_idt[v].off1 = (uint16_t)(a >> 16);
        g_idt[v].off2 = (uint32_t)(a >> 32);
        g_idt[v].zero = 0;
    }
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = { sizeof g_idt - 1, (uint64_t)(uintptr_t)g_idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

int irq_register(uint8_t vector, irq_handler_t handler, void *ctx)
{
    if (vector < 32) return -EINVAL;
    g_handler_ctx[vector] = ctx;
    g_handlers[vector] = handler;
    return 0;
}

uint64_t irq_count(uint8_t vector) { return g_irq_counts[vector]; }

uint32_t apic_id(void) { return apic_read(APIC_ID) >> 24; }
void apic_eoi(void) { apic_write(APIC_EOI, 0); }
uint64_t apic_timer_hz(void) { return g_apic_hz; }

void apic_init(bool legacy_pic)
{
    /* A BIOS (SeaBIOS under QEMU) leaves the 8259 PICs routing the PIT's IRQ 0 to vector 8 through LINT0:
     * mask both PICs (only when legacy_pic: ManagedVmm has none, and its bus logs unclaimed ports) and LINT0/LINT1,
     * so only the local APIC timer and MSIs interrupt us. */
    if (legacy_pic) {
        outb(0x21, 0xFF);
        outb(0xA1, 0xFF);
    }
    apic_write(0x350, LVT_MASKED);
    apic_write(0x360, LVT_MASKED);
    /* IA32_APIC_BASE MSR: leave as is (enabled at reset on both machines). Software-enable via SVR. */
    apic_write(APIC_SVR, 0x100 | APIC_SPURIOUS_VECTOR);
    apic_write(APIC_TIMER_DIV, 0xB); /* divide by 1 */
    apic_write(APIC_LVT_TIMER, LVT_MASKED | APIC_TIMER_VECTOR);
    /* Calibrate against the TSC: count down from the maximum over ~1 ms of virtual time (bounded). */
    apic_write(APIC_TIMER_INIT, 0xFFFFFFFFu);
    uint64_t t0 = rdtsc();
    uint64_t span = vtime_ns_to_ticks(1000000);
    for (uint32_t i = 0; i < 100000000u && rdtsc() - t0 < span; i++) { /* bounded even if the TSC stood still */
    }
    uint32_t cur = apic_read(APIC_TIMER_CUR);
    uint64_t t1 = rdtsc();
    apic_write(APIC_TIMER_INIT, 0);
    uint64_t elapsed_ns = vtime_ticks_to_ns(t1 - t0);
    uint64_t counted = 0xFFFFFFFFull - cur;
    g_apic_hz = elapsed_ns ? counted * 1000000000ull / elapsed_ns : 0;
    if (g_apic_hz < 1000000) {
        printf("apic: timer calibration gave %llu Hz; assuming 1 GHz\n", (unsigned long long)g_apic_hz);
        g_apic_hz = 1000000000ull;
    }
}

static uint32_t ns_to_apic(uint64_t ns)
{
    uint64_t c = (uint64_t)((unsigned __int128)ns * g_apic_hz / 1000000000u);
    if (c == 0) c = 1;
    if (c > 0xFFFFFFFFull) c = 0xFFFFFFFFull;
    return (uint32_t)c;
}

void apic_timer_oneshot_ns(uint64_t ns)
{
    apic_write(APIC_LVT_TIMER, APIC_TIMER_VECTOR);
    apic_write(APIC_TIMER_INIT, ns_to_apic(ns));
}

void apic_timer_periodic_ns(uint64_t ns)
{
    apic_write(APIC_LVT_TIMER, LVT_PERIODIC | APIC_TIMER_VECTOR);
    apic_write(APIC_TIMER_INIT, ns_to_apic(ns));
}

void apic_timer_stop(void)
{
    apic_write(APIC_LVT_TIMER, LVT_MASKED | APIC_TIMER_VECTOR);
    apic_write(APIC_TIMER_INIT, 0);
}
