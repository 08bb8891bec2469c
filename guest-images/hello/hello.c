/*
 * hello: the bring-up guest. Prints a banner, checks and prints the boot-info block (RSDP, command line, memory
 * map), and exits through the debug-exit port with status 0 (process status 1) when the block is valid, 1
 * (process status 3) when it is not.
 */
#include "../lib/runtime.h"

static const char *type_name(uint32_t type)
{
    switch (type) {
    case MMAP_TYPE_RAM: return "RAM";
    case MMAP_TYPE_RESERVED: return "reserved";
    default: return "unknown";
    }
}

int main(const struct boot_info *bi)
{
    printf("ManagedVmm hello guest\n");
    if (!boot_info_valid(bi)) {
        printf("boot-info at %p is not valid (magic 0x%08x)\n", (const void *)bi, bi ? bi->magic : 0u);
        return 1;
    }

    printf("boot-info at %p: magic 0x%08x version %u\n", (const void *)bi, bi->magic, bi->version);
    printf("rsdp 0x%lx payload_entry 0x%lx tsc_hz %llu\n", (unsigned long)bi->rsdp, (unsigned long)bi->payload_entry,
           (unsigned long long)bi->tsc_hz);
    const char *rsdp = (const char *)(uintptr_t)bi->rsdp;
    if (bi->rsdp && memcmp(rsdp, "RSD PTR ", 8) == 0)
        printf("ACPI RSDP revision %d\n", rsdp[15]);
    else
        printf("ACPI RSDP missing\n");
    printf("cmdline: \"%s\"\n", boot_info_cmdline(bi));

    const struct mmap_entry *map = (const struct mmap_entry *)(uintptr_t)bi->mmap;
    uint64_t ram = 0;
    printf("memory map: %u entries\n", bi->mmap_count);
    for (uint32_t i = 0; i < bi->mmap_count; i++) {
        printf("  [0x%016lx-0x%016lx] %s\n", (unsigned long)map[i].base,
               (unsigned long)(map[i].base + map[i].length - 1), type_name(map[i].type));
        if (map[i].type == MMAP_TYPE_RAM)
            ram += map[i].length;
    }
    printf("usable RAM: %llu KiB\n", (unsigned long long)(ram >> 10));
    printf("hello: done\n");
    return 0;
}
