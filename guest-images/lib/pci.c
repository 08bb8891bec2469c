#include "pci.h"
#include "acpi.h"
#include "mmio.h"

static uint64_t g_ecam = PCI_DEFAULT_ECAM;

void pci_init(const struct boot_info *bi)
{
    uint64_t e = acpi_mcfg_ecam(bi, NULL, NULL);
    g_ecam = e ? e : PCI_DEFAULT_ECAM;
}

uint64_t pci_ecam_base(void) { return g_ecam; }

static uintptr_t cfg_addr(uint16_t bdf, uint16_t off) { return (uintptr_t)(g_ecam + ((uint64_t)bdf << 12) + (off & 0xFFF)); }

uint8_t pci_read8(uint16_t bdf, uint16_t off) { return mmio_read8(cfg_addr(bdf, off)); }
uint16_t pci_read16(uint16_t bdf, uint16_t off) { return mmio_read16(cfg_addr(bdf, off)); }
uint32_t pci_read32(uint16_t bdf, uint16_t off) { return mmio_read32(cfg_addr(bdf, off)); }
void pci_write8(uint16_t bdf, uint16_t off, uint8_t v) { mmio_write8(cfg_addr(bdf, off), v); }
void pci_write16(uint16_t bdf, uint16_t off, uint16_t v) { mmio_write16(cfg_addr(bdf, off), v); }
void pci_write32(uint16_t bdf, uint16_t off, uint32_t v) { mmio_write32(cfg_addr(bdf, off), v); }

uint8_t pci_find_cap(uint16_t bdf, uint8_t id, uint8_t from)
{
    if (!(pci_read16(bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST)) return 0;
    uint8_t p = from ? pci_read8(bdf, (uint16_t)(from + 1)) : pci_read8(bdf, PCI_CAP_PTR);
    for (int guard = 0; guard < 48 && p >= 0x40; guard++) { /* at most 48 capabilities fit in 192 bytes */
        p &= 0xFC;
        if (pci_read8(bdf, p) == id) return p;
        p = pci_read8(bdf, (uint16_t)(p + 1));
    }
    return 0;
}

uint64_t pci_bar_address(uint16_t bdf, int bar)
{
    if (bar < 0 || bar > 5) return 0;
    uint32_t lo = pci_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * bar));
    if (lo & 1) return 0; /* I/O BAR */
    uint64_t a = lo & ~0xFull;
    if (((lo >> 1) & 3) == 2 && bar < 5) a |= (uint64_t)pci_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * bar + 4)) << 32;
    return a;
}

void pci_for_each_function(uint8_t bus, pci_visit_fn fn, void *ctx)
{
    for (uint8_t dev = 0; dev < 32; dev++) {
        uint16_t b0 = pci_bdf(bus, dev, 0);
        if (pci_read16(b0, PCI_VENDOR_ID) == 0xFFFF) continue;
        uint8_t nfn = (pci_read8(b0, PCI_HEADER_TYPE) & 0x80) ? 8 : 1;
        for (uint8_t f = 0; f < nfn; f++) {
            uint16_t b = pci_bdf(bus, dev, f);
            if (pci_read16(b, PCI_VENDOR_ID) == 0xFFFF) continue;
            fn(b, ctx);
        }
    }
}

struct find_ctx {
    uint32_t class_code;
    uint16_t vendor, device;
    bool by_class;
    int32_t found;
};

static void find_visit(uint16_t bdf, void *c)
{
    struct find_ctx *f = c;
    if (f->found >= 0) return;
    if (f->by_class) {
        if ((pci_read32(bdf, PCI_REVISION) >> 8) == f->class_code) f->found = bdf;
    } else if (pci_read16(bdf, PCI_VENDOR_ID) == f->vendor && pci_read16(bdf, PCI_DEVICE_ID) == f->device) {
        f->found = bdf;
    }
}

int32_t pci_find_class(uint32_t class_code)
{
    struct find_ctx f = { .class_code = class_code, .by_class = true, .found = -1 };
    pci_for_each_function(0, find_visit, &f);
    return f.found;
}

int32_t pci_find_device(uint16_t vendor, uint16_t device)
{
    struct find_ctx f = { .vendor = vendor, .device = device, .by_class = false, .found = -1 };
    pci_for_each_function(0, find_visit, &f);
    return f.found;
}

/* --- Firmware BAR assignment ------------------------------------------------------------------------------ */

/* Command registers as found, by devfn (bus 0 only), restored with the decode bits the assignment needs. */
static uint16_t g_orig_cmd[256];

static void size_visit(uint16_t bdf, void *c)
{
    struct pci_assign_result *r = c;
    if ((pci_read8(bdf, PCI_HEADER_TYPE) & 0x7F) != 0) return; /* bridges: not on this platform */
    uint16_t cmd = pci_read16(bdf, PCI_COMMAND);
    g_orig_cmd[bdf & 0xFF] = cmd;
    pci_write16(bdf, PCI_COMMAND, (uint16_t)(cmd & ~(PCI_CMD_IO | PCI_CMD_MEMORY))); /* no decode while sizing */
    for (int bar = 0; bar < 6; bar++) {
        uint16_t off = (uint16_t)(PCI_BAR0 + 4 * bar);
        uint32_t orig = pci_read32(bdf, off);
        pci_write32(bdf, off, 0xFFFFFFFFu);
        uint32_t probe = pci_read32(bdf, off);
        pci_write32(bdf, off, orig);
        if (probe == 0 || probe == 0xFFFFFFFFu) {
            if (probe == 0) continue;
        }
        struct pci_bar_assignment a = { .bdf = bdf, .bar = (uint8_t)bar };
        if (orig & 1) {
            a.io = true;
            uint32_t mask = probe & ~0x3u;
            if (!mask) continue;
            a.size = (uint64_t)(uint32_t)(~mask + 1) & 0xFFFF;
            if (!a.size) continue;
        } else {
            a.is64 = ((orig >> 1) & 3) == 2;
            a.prefetch = (orig >> 3) & 1;
            uint64_t mask = probe & ~0xFull;
            if (a.is64 && bar < 5) {
                uint32_t orig_hi = pci_read32(bdf, (uint16_t)(off + 4));
                pci_write32(bdf, (uint16_t)(off + 4), 0xFFFFFFFFu);
                uint32_t probe_hi = pci_read32(bdf, (uint16_t)(off + 4));
                pci_write32(bdf, (uint16_t)(off + 4), orig_hi);
                mask |= (uint64_t)probe_hi << 32;
            } else {
                mask |= 0xFFFFFFFF00000000ull;
            }
            if (!(mask & ~0xFFFFFFFF00000000ull) && !(mask >> 32)) continue;
            a.size = ~mask + 1;
            if (!a.size) continue;
        }
        if (r->nr_bars < PCI_MAX_BARS) r->bars[r->nr_bars++] = a;
        if (a.is64) bar++;
    }
}

void pci_assign_bars(uint8_t bus, struct pci_assign_result *out)
{
    memset(out, 0, sizeof *out);
    pci_for_each_function(bus, size_visit, out);
    /* Sort largest first; ties keep BDF/BAR order (insertion sort is stable). */
    for (uint32_t i = 1; i < out->nr_bars; i++) {
        struct pci_bar_assignment k = out->bars[i];
        uint32_t j = i;
        while (j > 0 && out->bars[j - 1].size < k.size) {
            out->bars[j] = out->bars[j - 1];
            j--;
        }
        out->bars[j] = k;
    }
    uint64_t mem = PCI_MMIO_WINDOW_START, io = PCI_IO_WINDOW_START;
    for (uint32_t i = 0; i < out->nr_bars; i++) {
        struct pci_bar_assignment *a = &out->bars[i];
        uint16_t off = (uint16_t)(PCI_BAR0 + 4 * a->bar);
        if (a->io) {
            uint64_t at = ALIGN_UP(io, a->size);
            if (at + a->size > PCI_IO_WINDOW_END) { out->nr_failed++; continue; }
            pci_write32(a->bdf, off, (uint32_t)at);
            a->address = at;
            io = at + a->size;
        } else {
            uint64_t sz = a->size < 4096 ? 4096 : a->size; /* page granular so guests can map BARs by page */
            uint64_t at = ALIGN_UP(mem, sz);
            if (at + a->size > PCI_MMIO_WINDOW_END) { out->nr_failed++; continue; }
            pci_write32(a->bdf, off, (uint32_t)at | (pci_read32(a->bdf, off) & 0xF));
            if (a->is64) pci_write32(a->bdf, (uint16_t)(off + 4), (uint32_t)(at >> 32));
            a->address = at;
            mem = at + sz;
        }
    }
    /* Enable decoding (where the function has such BARs) and bus mastering on every function. */
    for (uint8_t dev = 0; dev < 32; dev++) {
        for (uint8_t f = 0; f < 8; f++) {
            uint16_t b = pci_bdf(bus, dev, f);
            if (pci_read16(b, PCI_VENDOR_ID) == 0xFFFF) {
                if (f == 0) break;
                continue;
            }
            /* Functions without BARs (bridges, the LPC) keep their decode bits: they may decode legacy ranges. */
            bool has_bars = false;
            for (uint32_t i = 0; i < out->nr_bars; i++) has_bars |= out->bars[i].bdf == b;
            uint16_t cmd = (uint16_t)(pci_read16(b, PCI_COMMAND) | PCI_CMD_MASTER);
            if (!has_bars && (pci_read8(b, PCI_HEADER_TYPE) & 0x7F) == 0) cmd |= g_orig_cmd[b & 0xFF] & (PCI_CMD_IO | PCI_CMD_MEMORY);
            for (uint32_t i = 0; i < out->nr_bars; i++) {
                if (out->bars[i].bdf != b || !out->bars[i].address) continue;
                cmd |= out->bars[i].io ? PCI_CMD_IO : PCI_CMD_MEMORY;
            }
            pci_write16(b, PCI_COMMAND, cmd);
            if (f == 0 && !(pci_read8(b, PCI_HEADER_TYPE) & 0x80)) break;
        }
    }
}

static void inventory_visit(uint16_t bdf, void *c)
{
    (void)c;
    uint32_t cls = pci_read32(bdf, PCI_REVISION);
    printf("  %02x:%02x.%x %04x:%04x class %06x rev %02x cmd %04x", bdf >> 8, (bdf >> 3) & 31, bdf & 7,
           pci_read16(bdf, PCI_VENDOR_ID), pci_read16(bdf, PCI_DEVICE_ID), cls >> 8, cls & 0xFF,
           pci_read16(bdf, PCI_COMMAND));
    if ((pci_read8(bdf, PCI_HEADER_TYPE) & 0x7F) == 0) {
        for (int bar = 0; bar < 6; bar++) {
            uint32_t lo = pci_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * bar));
            if (!lo) continue;
            if (lo & 1) {
                printf(" BAR%d=io:0x%x", bar, lo & ~3u);
            } else {
                bool is64 = ((lo >> 1) & 3) == 2;
                printf(" BAR%d=mem%s:0x%llx", bar, is64 ? "64" : "32",
                       (unsigned long long)pci_bar_address(bdf, bar));
                if (is64) bar++;
            }
        }
    }
    printf("\n");
}

void pci_print_inventory(uint8_t bus)
{
    pci_for_each_function(bus, inventory_visit, NULL);
}
