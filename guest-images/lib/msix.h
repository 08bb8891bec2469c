/* MSI-X capability of a PCI function: table location, vector programming, enable. */
#ifndef GUEST_MSIX_H
#define GUEST_MSIX_H

#include "runtime.h"

struct msix {
    uint16_t bdf;
    uint8_t cap;
    uint16_t table_size;
    uintptr_t table;
};

int msix_init(struct msix *m, uint16_t bdf);
int msix_set_vector(struct msix *m, uint16_t entry, uint32_t addr, uint32_t data);
void msix_enable(struct msix *m, bool on);

#endif
