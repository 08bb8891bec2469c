/*
 * The local APIC (xAPIC MMIO at 0xFEE00000) and a 64-bit IDT. Vectors 0x20..0xFF may get a C handler; the stubs
 * save the caller-saved registers, call the handler with the vector, and send EOI. Exceptions (0..31) print the
 * vector, error code and RIP and exit with status 0x7F. The timer is calibrated against the TSC (vtime) so
 * apic_timer_oneshot_ns / apic_timer_periodic_ns work on any APIC clock (1 GHz on ManagedVmm and QEMU).
 */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include "runtime.h"

#define APIC_BASE 0xFEE00000u
#define APIC_TIMER_VECTOR 0x20
#define APIC_SPURIOUS_VECTOR 0xFF

typedef void (*irq_handler_t)(uint8_t vector, void *ctx);

void idt_init(void);
int irq_register(uint8_t vector, irq_handler_t handler, void *ctx);
uint64_t irq_count(uint8_t vector);

/* legacy_pic: a BIOS may have left 8259 PICs routing IRQs through LINT0 (PVH boot under QEMU): mask them. */
void apic_init(bool legacy_pic);
uint32_t apic_id(void);
void apic_eoi(void);
uint64_t apic_timer_hz(void);
void apic_timer_oneshot_ns(uint64_t ns);
void apic_timer_periodic_ns(uint64_t ns);
void apic_timer_stop(void);

/* MSI message for a vector on this CPU (fixed delivery, edge). */
static inline uint32_t msi_address(void) { return 0xFEE00000u | (apic_id() << 12); }
static inline uint32_t msi_data(uint8_t vector) { return vector; }

#endif
