/*
 * Turns Xen's struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h: magic 0x336ec578, version,
 * flags, nr_modules, modlist_paddr, cmdline_paddr, rsdp_paddr, and from version 1 memmap_paddr and
 * memmap_entries) into our boot-info block. Its memory map entries have our layout ({u64 addr, u64 size, u32 type,
 * u32 reserved}, e820 types), so the block points straight at them. tsc_hz is unknown under PVH and left 0.
 */
#include "runtime.h"

#define HVM_START_MAGIC 0x336EC578u

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;     /* version >= 1 */
    uint32_t memmap_entries;   /* version >= 1 */
    uint32_t reserved;
};

extern char _start[];

/* In .data, not .bss: _start clears bss after this block has been filled. */
static struct boot_info pvh_info __attribute__((section(".data.pvh")));

/* The RSDP by the legacy scan of 0xE0000-0xFFFFF, for a loader that passes no rsdp_paddr. */
static uint64_t scan_rsdp(void)
{
    for (uintptr_t a = 0xE0000; a < 0x100000; a += 16) {
        const uint8_t *p = (const uint8_t *)a;
        if (memcmp(p, "RSD PTR ", 8) != 0)
            continue;
        uint8_t sum = 0;
        for (int i = 0; i < 20; i++)
            sum += p[i];
        if (sum == 0)
            return a;
    }
    return 0;
}

const struct boot_info *pvh_boot_info(const struct hvm_start_info *si);

const struct boot_info *pvh_boot_info(const struct hvm_start_info *si)
{
    pvh_info.magic = BOOT_INFO_MAGIC;
    pvh_info.version = BOOT_INFO_VERSION;
    pvh_info.payload_entry = (uint64_t)(uintptr_t)_start;
    pvh_info.tsc_hz = 0;
    if (si->magic != HVM_START_MAGIC) {
        pvh_info.magic = 0; /* main sees an invalid block and says so */
        return &pvh_info;
    }
    pvh_info.cmdline = si->cmdline_paddr;
    pvh_info.rsdp = si->rsdp_paddr ? si->rsdp_paddr : scan_rsdp();
    if (si->version >= 1) {
        pvh_info.mmap = si->memmap_paddr;
        pvh_info.mmap_count = si->memmap_entries;
    }
    return &pvh_info;
}
