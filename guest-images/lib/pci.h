/*
 * PCI configuration access through ECAM (base from MCFG; 0xB0000000, the platform's, when there is no MCFG),
 * capability walk, BAR decoding, and the firmware's BAR sizing/assignment (pci_assign_bars), shared by firmware/
 * and the pci-scan test image so the same code runs on QEMU.
 */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include "runtime.h"

#define PCI_DEFAULT_ECAM 0xB0000000ull
#define PCI_MMIO_WINDOW_START 0xC0000000ull
#define PCI_MMIO_WINDOW_END 0xFC000000ull /* exclusive */
#define PCI_IO_WINDOW_START 0xC000u
#define PCI_IO_WINDOW_END 0x10000u

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_CMD_IO 0x1
#define PCI_CMD_MEMORY 0x2
#define PCI_CMD_MASTER 0x4
#define PCI_CMD_INTX_DISABLE 0x400
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_VNDR 0x09

void pci_init(const struct boot_info *bi);
uint64_t pci_ecam_base(void);

static inline uint16_t pci_bdf(uint8_t bus, uint8_t dev, uint8_t fn) { return (uint16_t)(bus << 8 | dev << 3 | fn); }
uint8_t pci_read8(uint16_t bdf, uint16_t off);
uint16_t pci_read16(uint16_t bdf, uint16_t off);
uint32_t pci_read32(uint16_t bdf, uint16_t off);
void pci_write8(uint16_t bdf, uint16_t off, uint8_t v);
void pci_write16(uint16_t bdf, uint16_t off, uint16_t v);
void pci_write32(uint16_t bdf, uint16_t off, uint32_t v);

/* Offset of the first (or next after `from`, 0 to start) capability with this ID, 0 if none (bounded walk). */
uint8_t pci_find_cap(uint16_t bdf, uint8_t id, uint8_t from);

/* Address of memory BAR `bar` (both halves of a 64-bit BAR), 0 if it is not an assigned memory BAR. */
uint64_t pci_bar_address(uint16_t bdf, int bar);

/* Calls fn for every function present on `bus` (multi-function devices too). */
typedef void (*pci_visit_fn)(uint16_t bdf, void *ctx);
void pci_for_each_function(uint8_t bus, pci_visit_fn fn, void *ctx);

/* The first function with this class code (class << 16 | subclass << 8 | prog-if), or -1. */
int32_t pci_find_class(uint32_t class_code);
int32_t pci_find_device(uint16_t vendor, uint16_t device);

/* Firmware: size every BAR on bus 0, assign them largest first in the windows above, enable decode + master. */
#define PCI_MAX_BARS 64
struct pci_bar_assignment {
    uint16_t bdf;
    uint8_t bar;
    bool io;
    bool is64;
    bool prefetch;
    uint64_t size;
    uint64_t address; /* 0 when it did not fit */
};
struct pci_assign_result {
    uint32_t nr_bars;
    uint32_t nr_failed;
    struct pci_bar_assignment bars[PCI_MAX_BARS];
};
void pci_assign_bars(uint8_t bus, struct pci_assign_result *out);

/* Prints one line per function with IDs, class and BARs (the firmware's inventory). */
void pci_print_inventory(uint8_t bus);

#endif
