/*
 * The ManagedVmm boot-info block (ARCHITECTURE §3, docs/boot.md): the VMM (or the firmware, or the PVH
 * trampoline) passes its physical address in RDI at the 64-bit entry. Little-endian; fields may be added after
 * these, never moved.
 */
#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H

#include "types.h"

#define BOOT_INFO_MAGIC 0x4D564D42u /* "BMVM" */
#define BOOT_INFO_VERSION 1u

#define MMAP_TYPE_RAM 1u
#define MMAP_TYPE_RESERVED 2u

struct mmap_entry {
    uint64_t base;
    uint64_t length;
    uint32_t type;
    uint32_t reserved;
};

struct boot_info {
    uint32_t magic;
    uint32_t version;
    uint64_t rsdp;          /* physical address of the ACPI RSDP */
    uint64_t cmdline;       /* physical address of a NUL-terminated command line, 0 if none */
    uint64_t payload_entry; /* entry of the payload image */
    uint64_t tsc_hz;        /* rdtsc ticks per second (0 if unknown) */
    uint32_t mmap_count;
    uint32_t reserved;
    uint64_t mmap;          /* physical address of mmap_count struct mmap_entry */
};

_Static_assert(sizeof(struct mmap_entry) == 24, "mmap entry is 24 bytes");
_Static_assert(sizeof(struct boot_info) == 56, "boot-info fields are 56 bytes");
_Static_assert(__builtin_offsetof(struct boot_info, mmap) == 48, "mmap at offset 48");

/* True when bi points at a block this runtime understands. */
bool boot_info_valid(const struct boot_info *bi);

/* The command line, or "" when there is none. */
const char *boot_info_cmdline(const struct boot_info *bi);

/* The value of "key=value" on the command line, parsed as an unsigned number (decimal or 0x hex), or dflt. */
uint64_t cmdline_get_u64(const char *cmdline, const char *key, uint64_t dflt);

#endif
