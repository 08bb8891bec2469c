/* Memory-mapped register access, interrupt-flag helpers and errno-style codes for the guest runtime. */
#ifndef GUEST_MMIO_H
#define GUEST_MMIO_H

#include "types.h"

static inline uint8_t mmio_read8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uintptr_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t mmio_read64(uintptr_t a)
{
    /* Two 32-bit reads, low half first (as Linux's lo_hi_readq): every device model accepts them. */
    uint64_t lo = mmio_read32(a);
    uint64_t hi = mmio_read32(a + 4);
    return lo | (hi << 32);
}
static inline void mmio_write8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void mmio_write64(uintptr_t a, uint64_t v)
{
    mmio_write32(a, (uint32_t)v);
    mmio_write32(a + 4, (uint32_t)(v >> 32));
}

/* Compiler barrier plus the x86 ordering we need for DMA rings (stores are not reordered with stores). */
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void mb(void) { __asm__ volatile("mfence" ::: "memory"); }

static inline uint64_t irq_save(void)
{
    uint64_t flags;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
    return flags;
}
static inline void irq_restore(uint64_t flags)
{
    if (flags & 0x200)
        __asm__ volatile("sti" ::: "memory");
}
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }

static inline uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

/* Error codes (negative returns), named as Linux's errno values. */
#define EIO 5
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define ERANGE 34
#define ENOSYS 38
#define ENOENT 2
#define ETIMEDOUT 110

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define PAGE_SIZE 4096u
#define PAGE_SHIFT 12

/* Guest exit statuses shared by every image (debug-exit value; the VMM reports (v << 1) | 1). */
#define EXIT_PASS 0
#define EXIT_CHECK_FAILED 1
#define EXIT_BAD_CMDLINE 2
#define EXIT_NO_DEVICE 3
#define EXIT_IOMMU_ERROR 4
#define EXIT_NVME_ERROR 5
#define EXIT_TIMEOUT 6
#define EXIT_NO_MEMORY 7

#endif
