/*
 * pci-scan: runs the firmware's PCI code (lib/pci.c: ECAM from MCFG, BAR sizing and assignment largest-first in
 * 0xC0000000-0xFBFFFFFF, decode + bus-master enable, the inventory) on whatever machine boots it — in particular
 * on QEMU q35, where the firmware itself cannot run — and checks the result: every BAR inside its window, naturally
 * aligned, no two overlapping, decode enabled, and the devices answer at their new addresses (NVMe CAP/VS, the
 * virtio-iommu's common configuration). Debug-exit 0 when every check passed.
 *
 * pciscan.firmware=1 runs the committed firmware binary instead: QEMU loads firmware/firmware.elf at 16 MiB with
 * `-device loader,file=firmware/firmware.elf`, this image jumps to its entry with a boot-info block whose
 * payload_entry is after_firmware() below, and the same checks run on what the firmware left behind.
 */
#include "../lib/stack.h"

static struct stack g_st;
static struct pci_assign_result g_res;
static int g_fail;

#define CHECK(cond, ...)                                                                                          \
    do {                                                                                                          \
        printf((cond) ? "  ok   " : "  FAIL ");                                                                  \
        if (!(cond)) g_fail++;                                                                                    \
        printf(__VA_ARGS__);                                                                                      \
        printf("\n");                                                                                             \
    } while (0)

static int check_result(void);

#define FIRMWARE_ENTRY 0x1000000ull
static struct boot_info g_fw_bi;
static uint8_t g_fw_stack[16384] __attribute__((aligned(16)));

/* The firmware's "payload": entered with RDI = boot-info, on the stack we gave it, with a zero return address. */
NORETURN void after_firmware(const struct boot_info *bi);
NORETURN void after_firmware(const struct boot_info *bi)
{
    printf("pci-scan: back from the firmware (boot-info %p)\n", (const void *)bi);
    /* Rebuild the assignment table from the BARs as the firmware left them (sizes by probing, decode kept). */
    pci_init(bi);
    for (uint8_t dev = 0; dev < 32; dev++) {
        for (uint8_t f = 0; f < 8; f++) {
            uint16_t b = pci_bdf(0, dev, f);
            if (pci_read16(b, PCI_VENDOR_ID) == 0xFFFF || (pci_read8(b, PCI_HEADER_TYPE) & 0x7F)) continue;
            for (int bar = 0; bar < 6; bar++) {
                uint16_t off = (uint16_t)(PCI_BAR0 + 4 * bar);
                uint32_t orig = pci_read32(b, off);
                if (!orig) continue;
                struct pci_bar_assignment a = { .bdf = b, .bar = (uint8_t)bar, .io = orig & 1 };
                a.is64 = !a.io && ((orig >> 1) & 3) == 2;
                a.address = a.io ? (orig & ~3u) : pci_bar_address(b, bar);
                uint16_t cmd = pci_read16(b, PCI_COMMAND);
                pci_write16(b, PCI_COMMAND, (uint16_t)(cmd & ~3u));
                pci_write32(b, off, 0xFFFFFFFFu);
                uint32_t probe = pci_read32(b, off);
                pci_write32(b, off, orig);
                pci_write16(b, PCI_COMMAND, cmd);
                a.size = a.io ? ((~(probe & ~3u) + 1) & 0xFFFF) : (uint32_t)(~(probe & ~0xFu) + 1);
                if (g_res.nr_bars < PCI_MAX_BARS) g_res.bars[g_res.nr_bars++] = a;
                if (a.is64) bar++;
            }
        }
    }
    exit(check_result());
}

int main(const struct boot_info *bi)
{
    printf("pci-scan: the firmware's PCI enumeration and BAR assignment\n");
    int status = platform_init(&g_st, bi);
    if (status) return status;
    printf("before (as the previous firmware left it):\n");
    pci_print_inventory(0);
    if (cmdline_get_u64(boot_info_cmdline(bi), "pciscan.firmware", 0)) {
        if (*(const volatile uint8_t *)(uintptr_t)FIRMWARE_ENTRY != 0xFA) { /* the firmware starts with cli */
            printf("pci-scan: no firmware at 0x%llx (load it with -device loader,file=firmware/firmware.elf)\n",
                   (unsigned long long)FIRMWARE_ENTRY);
            return EXIT_NO_DEVICE;
        }
        g_fw_bi = *bi;
        g_fw_bi.payload_entry = (uint64_t)(uintptr_t)after_firmware;
        printf("pci-scan: entering the firmware at 0x%llx\n", (unsigned long long)FIRMWARE_ENTRY);
        __asm__ volatile("mov %0, %%rsp\n\tjmp *%1"
                         :
                         : "r"(g_fw_stack + sizeof g_fw_stack - 8), "r"(FIRMWARE_ENTRY), "D"(&g_fw_bi)
                         : "memory");
        __builtin_unreachable();
    }
    pci_assign_bars(0, &g_res);
    printf("assigned %u BAR(s), %u did not fit:\n", g_res.nr_bars, g_res.nr_failed);
    for (uint32_t i = 0; i < g_res.nr_bars; i++) {
        const struct pci_bar_assignment *a = &g_res.bars[i];
        printf("  %02x:%02x.%x BAR%u %s%s size 0x%llx -> 0x%llx\n", a->bdf >> 8, (a->bdf >> 3) & 31, a->bdf & 7, a->bar,
               a->io ? "io" : (a->is64 ? "mem64" : "mem32"), a->prefetch ? " pref" : "", (unsigned long long)a->size,
               (unsigned long long)a->address);
    }
    return check_result();
}

static int check_result(void)
{
    printf("after:\n");
    pci_print_inventory(0);
    CHECK(g_res.nr_bars > 0 && g_res.nr_failed == 0, "every BAR placed");
    bool inside = true, aligned = true, disjoint = true, decode = true;
    for (uint32_t i = 0; i < g_res.nr_bars; i++) {
        const struct pci_bar_assignment *a = &g_res.bars[i];
        uint64_t lo = a->io ? PCI_IO_WINDOW_START : PCI_MMIO_WINDOW_START;
        uint64_t hi = a->io ? PCI_IO_WINDOW_END : PCI_MMIO_WINDOW_END;
        if (a->address < lo || a->address + a->size > hi) inside = false;
        if (a->address & (a->size - 1)) aligned = false;
        if (pci_read32(a->bdf, (uint16_t)(PCI_BAR0 + 4 * a->bar)) >> 4 != (uint32_t)a->address >> 4) inside = false;
        uint16_t cmd = pci_read16(a->bdf, PCI_COMMAND);
        if (!(cmd & (a->io ? PCI_CMD_IO : PCI_CMD_MEMORY)) || !(cmd & PCI_CMD_MASTER)) decode = false;
        for (uint32_t j = 0; j < i; j++) {
            const struct pci_bar_assignment *b = &g_res.bars[j];
            if (a->io != b->io) continue;
            if (a->address < b->address + b->size && b->address < a->address + a->size) disjoint = false;
        }
    }
    CHECK(inside, "every BAR inside its window and read back as written");
    CHECK(aligned, "every BAR naturally aligned");
    CHECK(disjoint, "no two BARs overlap");
    CHECK(decode, "decode and bus mastering enabled");
    int32_t nvme = pci_find_class(0x010802);
    if (nvme >= 0) {
        uintptr_t bar = (uintptr_t)pci_bar_address((uint16_t)nvme, 0);
        uint32_t vs = mmio_read32(bar + 8);
        uint64_t cap = mmio_read64(bar);
        CHECK(bar >= PCI_MMIO_WINDOW_START && vs >= 0x10000 && vs != 0xFFFFFFFFu && cap != ~0ull,
              "NVMe answers at 0x%llx: VS 0x%x CAP 0x%llx", (unsigned long long)bar, vs, (unsigned long long)cap);
    }
    int32_t vio = pci_find_device(0x1AF4, VIRTIO_ID_IOMMU_PCI_DEVICE);
    if (vio >= 0) {
        struct virtio_pci_dev vd;
        int r = virtio_pci_probe(&vd, (uint16_t)vio);
        uint64_t f = r ? 0 : virtio_device_features(&vd);
        CHECK(r == 0 && (f >> VIRTIO_F_VERSION_1 & 1), "virtio-iommu common config at 0x%llx: features 0x%llx",
              (unsigned long long)vd.common, (unsigned long long)f);
    }
    printf("pci-scan: %s\n", g_fail ? "FAIL" : "PASS");
    return g_fail ? EXIT_CHECK_FAILED : EXIT_PASS;
}
