#include "msix.h"
#include "pci.h"
#include "mmio.h"

int msix_init(struct msix *m, uint16_t bdf)
{
    memset(m, 0, sizeof *m);
    uint8_t cap = pci_find_cap(bdf, PCI_CAP_ID_MSIX, 0);
    if (!cap) return -ENODEV;
    uint16_t ctrl = pci_read16(bdf, (uint16_t)(cap + 2));
    uint32_t tbl = pci_read32(bdf, (uint16_t)(cap + 4));
    uint64_t bar = pci_bar_address(bdf, tbl & 7);
    if (!bar) return -ENODEV;
    m->bdf = bdf;
    m->cap = cap;
    m->table_size = (uint16_t)((ctrl & 0x7FF) + 1);
    m->table = (uintptr_t)(bar + (tbl & ~7u));
    /* Enabled with the function masked while we program entries; every entry masked to start. */
    pci_write16(bdf, (uint16_t)(cap + 2), (uint16_t)(ctrl | 0xC000));
    for (uint16_t i = 0; i < m->table_size; i++) mmio_write32(m->table + 16u * i + 12, 1);
    return 0;
}

int msix_set_vector(struct msix *m, uint16_t entry, uint32_t addr, uint32_t data)
{
    if (!m->table || entry >= m->table_size) return -EINVAL;
    uintptr_t e = m->table + 16u * entry;
    mmio_write32(e + 0, addr);
    mmio_write32(e + 4, 0);
    mmio_write32(e + 8, data);
    mmio_write32(e + 12, 0); /* unmask */
    return 0;
}

void msix_enable(struct msix *m, bool on)
{
    if (!m->table) return;
    uint16_t ctrl = pci_read16(m->bdf, (uint16_t)(m->cap + 2));
    ctrl = (uint16_t)(on ? ((ctrl | 0x8000) & ~0x4000) : (ctrl & ~0x8000));
    pci_write16(m->bdf, (uint16_t)(m->cap + 2), ctrl);
}
