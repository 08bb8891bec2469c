/*
 * ManagedVmm platform firmware (ARCHITECTURE §3). Started by the VMM in 64-bit mode with RDI = the boot-info
 * block: checks the block, finds the ECAM through RSDP → XSDT → MCFG (the platform's 0xB0000000 if there is no
 * MCFG), enumerates bus 0, sizes every BAR (64-bit BARs too) and assigns it largest first, naturally aligned, in
 * 0xC0000000-0xFBFFFFFF (I/O BARs from port 0xC000), enables decoding and bus mastering, prints the inventory on
 * COM1, and returns the payload entry for entry.S to jump to with RDI = the boot-info block. The PCI code is
 * guest-images/lib/pci.c, shared with the pci-scan image that runs it on QEMU.
 *
 * Failures (no valid boot-info, no payload entry, a BAR that does not fit) are reported on the console and end
 * the run through the debug-exit port with status 0x70 | reason.
 */
#include "../guest-images/lib/runtime.h"
#include "../guest-images/lib/acpi.h"
#include "../guest-images/lib/pci.h"

#define FW_EXIT_BAD_BOOT_INFO 0x71
#define FW_EXIT_NO_PAYLOAD 0x72
#define FW_EXIT_BARS 0x73

static struct pci_assign_result g_result;

NORETURN void debug_exit(uint32_t code)
{
    outl(DEBUG_EXIT_PORT, code);
    for (;;) {
        cli();
        hlt();
    }
}

uint64_t firmware_main(const struct boot_info *bi);

uint64_t firmware_main(const struct boot_info *bi)
{
    serial_init();
    printf("ManagedVmm firmware\n");
    if (!boot_info_valid(bi)) {
        printf("firmware: boot-info at %p is not valid; stopping\n", (const void *)bi);
        debug_exit(FW_EXIT_BAD_BOOT_INFO);
    }
    uint8_t bus_start = 0, bus_end = 0;
    uint64_t ecam = acpi_mcfg_ecam(bi, &bus_start, &bus_end);
    if (ecam)
        printf("firmware: MCFG: ECAM 0x%llx buses %u-%u\n", (unsigned long long)ecam, bus_start, bus_end);
    else
        printf("firmware: no MCFG; using ECAM 0x%llx\n", (unsigned long long)PCI_DEFAULT_ECAM);
    pci_init(bi);
    pci_assign_bars(0, &g_result);
    for (uint32_t i = 0; i < g_result.nr_bars; i++) {
        const struct pci_bar_assignment *a = &g_result.bars[i];
        if (!a->address)
            printf("firmware: %02x:%02x.%x BAR%u (size 0x%llx) does not fit its window\n", a->bdf >> 8,
                   (a->bdf >> 3) & 31, a->bdf & 7, a->bar, (unsigned long long)a->size);
    }
    printf("firmware: PCI bus 0 (%u BARs assigned):\n", g_result.nr_bars - g_result.nr_failed);
    pci_print_inventory(0);
    if (g_result.nr_failed) debug_exit(FW_EXIT_BARS);
    if (!bi->payload_entry) {
        printf("firmware: no payload entry in boot-info; stopping\n");
        debug_exit(FW_EXIT_NO_PAYLOAD);
    }
    printf("firmware: jumping to the payload at 0x%llx\n", (unsigned long long)bi->payload_entry);
    return bi->payload_entry;
}
