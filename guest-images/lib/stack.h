/*
 * What both test images start with: the platform (allocator, virtual time, IDT, local APIC, PCI via MCFG, VIOT),
 * the common switches (iommu.*, viommu.*, nvme.poll), and the DMA stack: virtio-iommu driver → NVMe endpoint's
 * default domain → NVMe driver.
 */
#ifndef GUEST_STACK_H
#define GUEST_STACK_H

#include "runtime.h"
#include "acpi.h"
#include "alloc.h"
#include "apic.h"
#include "cmdline.h"
#include "iommu.h"
#include "mmio.h"
#include "nvme.h"
#include "pci.h"
#include "viommu.h"
#include "vtime.h"

struct stack {
    const struct boot_info *bi;
    struct viot_info viot;
    struct viommu_dev viommu;
    bool have_viommu;
    struct device nvme_dev;
    struct viommu_endpoint nvme_ep;
    uint32_t nvme_epid;
    bool hw_msi;
    uint64_t msi_addr;
    struct nvme_ctrl nvme;
    /* switches */
    bool nvme_poll;
    int fq_kind; /* 0 percpu, 1 single */
};

/* The common switches, to append to an image's own table. */
#define STACK_NR_OPTS 6
void stack_common_opts(struct stack *s, struct cmdline_opt *out);

int platform_init(struct stack *s, const struct boot_info *bi);
/* Probes the virtio-iommu (if present) and sets up the NVMe endpoint. Returns an EXIT_* status. */
int stack_init_iommu(struct stack *s, uint16_t nvme_bdf);
int stack_init_nvme(struct stack *s, uint16_t nvme_bdf, uint16_t io_depth);
/* A snapshot of every counter, and the difference of two (for a measured phase). */
struct counters { struct viommu_stats v; struct iommu_stats c; uint64_t notifies; };
void stack_snapshot(struct stack *s, struct counters *out);
void counters_sub(struct counters *out, const struct counters *after, const struct counters *before);
/* Prints the counters; per_ios > 0 adds per-I/O figures. */
void stack_print_counters(struct stack *s, const struct counters *k, uint64_t per_ios);

#endif
