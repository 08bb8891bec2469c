/*
 * The IOMMU core and dma-iommu, mirroring Linux (reference: linux-guest-driver.md §2): domains with an ops table,
 * iommu_map (map_pages for each iommu_pgsize chunk, then iotlb_sync_map), iommu_map_sg (one sync per list),
 * iommu_unmap / iommu_unmap_fast; the IOVA allocator (top-down, naturally aligned, per-size caches of 127-entry
 * magazines); and the DMA API (dma_map_page / dma_map_sg / dma_alloc_coherent and their unmaps) with strict
 * invalidation or the flush queue (per-CPU form 256 entries / 10 ms, single form 32768 / 1000 ms, start/finish
 * counters, timer on the local APIC timer). One CPU: the per-CPU form is one queue with the per-CPU constants.
 */
#ifndef GUEST_IOMMU_H
#define GUEST_IOMMU_H

#include "runtime.h"

typedef uint64_t dma_addr_t;
typedef uint64_t phys_addr_t;
#define DMA_MAPPING_ERROR (~(dma_addr_t)0)

#define IOMMU_READ 1
#define IOMMU_WRITE 2
#define IOMMU_MMIO 4

enum dma_data_direction { DMA_BIDIRECTIONAL = 0, DMA_TO_DEVICE = 1, DMA_FROM_DEVICE = 2 };

enum iommu_domain_type { IOMMU_DOMAIN_IDENTITY, IOMMU_DOMAIN_DMA, IOMMU_DOMAIN_DMA_FQ, IOMMU_DOMAIN_UNMANAGED };

struct iommu_domain;
struct device;

struct iommu_iotlb_gather {
    uint64_t start, end;
    bool queued; /* flush_iotlb_all will run later instead of iotlb_sync */
};

struct iommu_domain_ops {
    int (*attach_dev)(struct iommu_domain *domain, struct device *dev);
    int (*map_pages)(struct iommu_domain *domain, uint64_t iova, phys_addr_t paddr, size_t pgsize, size_t pgcount,
                     int prot, size_t *mapped);
    size_t (*unmap_pages)(struct iommu_domain *domain, uint64_t iova, size_t pgsize, size_t pgcount,
                          struct iommu_iotlb_gather *gather);
    int (*iotlb_sync_map)(struct iommu_domain *domain, uint64_t iova, size_t size); /* NULL: absent */
    void (*iotlb_sync)(struct iommu_domain *domain, struct iommu_iotlb_gather *gather);
    void (*flush_iotlb_all)(struct iommu_domain *domain);                         /* NULL: absent */
    phys_addr_t (*iova_to_phys)(struct iommu_domain *domain, uint64_t iova);
    void (*free)(struct iommu_domain *domain);
};

struct iommu_dma_cookie;

struct iommu_domain {
    enum iommu_domain_type type;
    const struct iommu_domain_ops *ops;
    uint64_t pgsize_bitmap;
    uint64_t aperture_start, aperture_end;
    struct iommu_dma_cookie *cookie;
};

/* A client device (a PCI function behind the IOMMU). */
struct device {
    uint16_t bdf;
    const char *name;
    void *iommu_priv;              /* the IOMMU driver's endpoint */
    struct iommu_domain *domain;   /* the default domain, NULL = no IOMMU (direct) */
    bool dma_direct;               /* passthrough / no IOMMU: dma address = physical */
};

/* Driver capabilities the core asks about. */
#define IOMMU_CAP_DEFERRED_FLUSH 1

/* The policy from the command line (iommu.* switches). */
struct iommu_policy {
    bool strict;       /* iommu.strict */
    bool passthrough;  /* iommu.passthrough */
    bool fq_single;    /* iommu.fq=single */
};
extern struct iommu_policy iommu_policy;

/* Counters printed by the images. */
struct iommu_stats {
    uint64_t map_calls, unmap_calls;          /* iommu_map / iommu_unmap* (core level) */
    uint64_t iotlb_sync_map, iotlb_sync, flush_iotlb_all;
    uint64_t fq_queued, fq_timer_fires, fq_full_flushes, fq_freed;
    uint64_t iova_alloc, iova_rcache_hits, iova_free;
};
extern struct iommu_stats iommu_stats;

int iommu_map(struct iommu_domain *domain, uint64_t iova, phys_addr_t paddr, size_t size, int prot);
int iommu_map_nosync(struct iommu_domain *domain, uint64_t iova, phys_addr_t paddr, size_t size, int prot);
int iommu_sync_map(struct iommu_domain *domain, uint64_t iova, size_t size);
struct scatterlist;
ssize_t iommu_map_sg(struct iommu_domain *domain, uint64_t iova, struct scatterlist *sg, int nents, int prot);
size_t iommu_unmap(struct iommu_domain *domain, uint64_t iova, size_t size);
size_t iommu_unmap_fast(struct iommu_domain *domain, uint64_t iova, size_t size, struct iommu_iotlb_gather *gather);
void iommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather);
phys_addr_t iommu_iova_to_phys(struct iommu_domain *domain, uint64_t iova);

/* dma-iommu: set up the DMA cookie of a DMA / DMA_FQ domain (IOVA domain, reserved regions, flush queue). */
struct iommu_resv_region { uint64_t start, length; int type; };
#define IOMMU_RESV_RESERVED 0
#define IOMMU_RESV_MSI 1
#define IOMMU_RESV_SW_MSI 2
int iommu_dma_init_domain(struct iommu_domain *domain, bool deferred_flush_cap,
                          const struct iommu_resv_region *resv, int nr_resv);
void iommu_dma_free_domain(struct iommu_domain *domain);
/* The flush-queue timer's handler (APIC timer vector): fq_flush_timeout for the one active DMA_FQ domain. */
void iommu_dma_timer_irq(void);
/* Makes every deferred IOVA free now (flush + ring free), e.g. before the images print their final counters. */
void iommu_dma_drain_fq(struct iommu_domain *domain);
uint64_t iommu_dma_fq_pending(struct iommu_domain *domain);

struct scatterlist {
    phys_addr_t phys;
    uint32_t length;
    dma_addr_t dma_address;
    uint32_t dma_length;
};

dma_addr_t dma_map_page(struct device *dev, phys_addr_t phys, size_t size, enum dma_data_direction dir);
void dma_unmap_page(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir);
/* Returns the number of DMA segments (>0) or 0 on failure, as Linux. */
int dma_map_sg(struct device *dev, struct scatterlist *sg, int nents, enum dma_data_direction dir);
void dma_unmap_sg(struct device *dev, struct scatterlist *sg, int nents, enum dma_data_direction dir);
void *dma_alloc_coherent(struct device *dev, size_t size, dma_addr_t *handle);
void dma_free_coherent(struct device *dev, size_t size, void *cpu_addr, dma_addr_t handle);

static inline phys_addr_t virt_to_phys(const void *p) { return (phys_addr_t)(uintptr_t)p; }


uint64_t iommu_dma_compose_msi_address(struct device *dev, uint64_t msi_addr, bool hw_msi_region);

#endif
