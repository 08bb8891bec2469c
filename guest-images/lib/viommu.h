/*
 * The virtio-iommu driver (virtio 1.2 §5.13; Linux drivers/iommu/virtio-iommu.c, reference §1), written for this
 * runtime. Request path: viommu_add_req queues a private copy of a request without notifying (a full ring is
 * drained with __viommu_sync_req and the add retried once); viommu_sync_req kicks and polls the used ring until
 * every in-flight request has completed, in any order, matching them by token; viommu_send_req_sync adds with
 * write-back, syncs, and returns the status as an errno. Polls are bounded by VIOMMU_SYNC_TIMEOUT_NS of virtual
 * time: a device that never answers gives -ETIMEDOUT and marks the driver broken (Linux would spin forever).
 */
#ifndef GUEST_VIOMMU_H
#define GUEST_VIOMMU_H

#include "runtime.h"
#include "virtio.h"
#include "iommu.h"

#define VIRTIO_ID_IOMMU_PCI_DEVICE 0x1057
#define VIRTIO_IOMMU_F_INPUT_RANGE 0
#define VIRTIO_IOMMU_F_DOMAIN_RANGE 1
#define VIRTIO_IOMMU_F_MAP_UNMAP 2
#define VIRTIO_IOMMU_F_BYPASS 3
#define VIRTIO_IOMMU_F_PROBE 4
#define VIRTIO_IOMMU_F_MMIO 5
#define VIRTIO_IOMMU_F_BYPASS_CONFIG 6

#define VIRTIO_IOMMU_T_ATTACH 1
#define VIRTIO_IOMMU_T_DETACH 2
#define VIRTIO_IOMMU_T_MAP 3
#define VIRTIO_IOMMU_T_UNMAP 4
#define VIRTIO_IOMMU_T_PROBE 5

#define VIRTIO_IOMMU_S_OK 0
#define VIRTIO_IOMMU_S_IOERR 1
#define VIRTIO_IOMMU_S_UNSUPP 2
#define VIRTIO_IOMMU_S_DEVERR 3
#define VIRTIO_IOMMU_S_INVAL 4
#define VIRTIO_IOMMU_S_RANGE 5
#define VIRTIO_IOMMU_S_NOENT 6
#define VIRTIO_IOMMU_S_FAULT 7
#define VIRTIO_IOMMU_S_NOMEM 8

#define VIRTIO_IOMMU_ATTACH_F_BYPASS 1
#define VIRTIO_IOMMU_MAP_F_READ 1
#define VIRTIO_IOMMU_MAP_F_WRITE 2
#define VIRTIO_IOMMU_MAP_F_MMIO 4

#define VIRTIO_IOMMU_PROBE_T_NONE 0
#define VIRTIO_IOMMU_PROBE_T_RESV_MEM 1
#define VIRTIO_IOMMU_PROBE_T_MASK 0xFFF
#define VIRTIO_IOMMU_RESV_MEM_T_RESERVED 0
#define VIRTIO_IOMMU_RESV_MEM_T_MSI 1

#define VIRTIO_IOMMU_FAULT_R_UNKNOWN 0
#define VIRTIO_IOMMU_FAULT_R_DOMAIN 1
#define VIRTIO_IOMMU_FAULT_R_MAPPING 2
#define VIRTIO_IOMMU_FAULT_F_READ 1
#define VIRTIO_IOMMU_FAULT_F_WRITE 2
#define VIRTIO_IOMMU_FAULT_F_EXEC 4
#define VIRTIO_IOMMU_FAULT_F_ADDRESS 0x100

#define VIOMMU_REQUEST_VQ 0
#define VIOMMU_EVENT_VQ 1
#define VIOMMU_NR_VQS 2
#define MSI_IOVA_BASE 0x8000000ull
#define MSI_IOVA_LENGTH 0x100000ull
#define VIOMMU_EVENT_VECTOR 0x41
#define VIOMMU_SYNC_TIMEOUT_NS 2000000000ull /* 2 s of virtual time per sync */
#define VIOMMU_SYNC_MAX_POLLS 1000000000ull  /* and an iteration bound, should the TSC not advance */

/* Wire formats (all little-endian; x86 is too). */
struct virtio_iommu_req_head { uint8_t type; uint8_t reserved[3]; };
struct virtio_iommu_req_tail { uint8_t status; uint8_t reserved[3]; };
struct virtio_iommu_req_attach {
    struct virtio_iommu_req_head head;
    uint32_t domain, endpoint, flags;
    uint8_t reserved[4];
    struct virtio_iommu_req_tail tail;
};
struct virtio_iommu_req_detach {
    struct virtio_iommu_req_head head;
    uint32_t domain, endpoint;
    uint8_t reserved[8];
    struct virtio_iommu_req_tail tail;
};
struct virtio_iommu_req_map {
    struct virtio_iommu_req_head head;
    uint32_t domain;
    uint64_t virt_start, virt_end, phys_start;
    uint32_t flags;
    struct virtio_iommu_req_tail tail;
} __attribute__((packed));
struct virtio_iommu_req_unmap {
    struct virtio_iommu_req_head head;
    uint32_t domain;
    uint64_t virt_start, virt_end;
    uint8_t reserved[4];
    struct virtio_iommu_req_tail tail;
} __attribute__((packed));
struct virtio_iommu_req_probe {
    struct virtio_iommu_req_head head;
    uint32_t endpoint;
    uint8_t reserved[64];
    uint8_t properties[];
};
struct virtio_iommu_probe_property { uint16_t type, length; };
struct virtio_iommu_probe_resv_mem {
    struct virtio_iommu_probe_property head;
    uint8_t subtype;
    uint8_t reserved[3];
    uint64_t start, end;
} __attribute__((packed));
struct virtio_iommu_fault {
    uint8_t reason;
    uint8_t reserved[3];
    uint32_t flags, endpoint;
    uint8_t reserved2[4];
    uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_iommu_req_attach) == 24, "attach");
_Static_assert(sizeof(struct virtio_iommu_req_detach) == 24, "detach");
_Static_assert(sizeof(struct virtio_iommu_req_map) == 40, "map");
_Static_assert(sizeof(struct virtio_iommu_req_unmap) == 32, "unmap");
_Static_assert(sizeof(struct virtio_iommu_req_probe) == 72, "probe");
_Static_assert(sizeof(struct virtio_iommu_probe_resv_mem) == 24, "resv mem");
_Static_assert(sizeof(struct virtio_iommu_fault) == 24, "fault");

/* Driver switches (viommu.*). */
struct viommu_options {
    bool sync_map;        /* viommu.sync_map: 1 = iotlb_sync_map (≥ 6.8), 0 = MAP sent synchronously in map_pages */
    bool deferred_flush;  /* viommu.deferred_flush: IOMMU_CAP_DEFERRED_FLUSH and flush_iotlb_all */
};
extern struct viommu_options viommu_options;

struct viommu_request {
    struct viommu_request *next, *prev;
    void *writeback;
    uint32_t write_offset;
    uint32_t len;
    uint8_t buf[];
};

/* The interval tree of a domain's mappings: disjoint [start, last] intervals kept sorted by start (the core
 * never maps over a live mapping; map_pages refuses an overlap with -EEXIST). Bounded: VIOMMU_MAX_MAPPINGS. */
#define VIOMMU_MAX_MAPPINGS 4096
struct viommu_mapping { uint64_t start, last; phys_addr_t paddr; uint32_t flags; uint32_t pad; };
struct viommu_interval_tree { uint32_t count; struct viommu_mapping *nodes; };

#define VIOMMU_MAX_EVENTS 256
struct viommu_event { union { uint32_t head; struct virtio_iommu_fault fault; }; };

struct viommu_stats {
    uint64_t req_attach, req_detach, req_map, req_unmap, req_probe;
    uint64_t req_errors;         /* non-OK statuses seen in write-back (sync requests) */
    uint64_t syncs, kicks, drains, polls;
    uint64_t faults, events_invalid;
    struct virtio_iommu_fault last_fault;
};

#define VIOMMU_MAX_DOMAIN_IDS 1024

struct viommu_dev {
    struct virtio_pci_dev vdev;
    struct virtqueue vqs[VIOMMU_NR_VQS];
    struct viommu_request requests; /* list head of in-flight requests */
    uint32_t nr_inflight;
    uint64_t aperture_start, aperture_end;
    uint64_t pgsize_bitmap;
    uint32_t first_domain, last_domain, identity_domain_id;
    uint32_t map_flags;
    uint32_t probe_size;
    uint8_t config_bypass;
    bool broken;
    uint64_t domain_ids[VIOMMU_MAX_DOMAIN_IDS / 64]; /* allocated IDs relative to first_domain (ida) */
    struct viommu_event *evts;
    uint32_t nr_evts;
    struct viommu_stats stats;
};

struct viommu_domain {
    struct iommu_domain domain;
    struct viommu_dev *viommu;
    uint32_t id;
    uint32_t map_flags;
    struct viommu_interval_tree mappings;
    uint32_t nr_endpoints;
    bool identity; /* the bypass (identity) domain */
};

#define VIOMMU_MAX_RESV 8
struct viommu_endpoint {
    struct device *dev;
    struct viommu_dev *viommu;
    struct viommu_domain *vdomain;
    uint32_t epid;
    uint32_t nr_resv;
    struct iommu_resv_region resv[VIOMMU_MAX_RESV];
};

extern struct viommu_dev *g_viommu;

/* viommu_probe: feature negotiation, config, vqs, DRIVER_OK, event queue filled. 0 or -errno. */
int viommu_probe(struct viommu_dev *viommu, uint16_t bdf);
/* viommu_probe_device: endpoint for dev with this endpoint ID; PROBE if probe_size > 0. */
int viommu_probe_device(struct viommu_dev *viommu, struct device *dev, uint32_t epid, struct viommu_endpoint *vdev);
/* Reserved regions as Linux's get_resv_regions: probed ones plus SW_MSI when none is MSI. */
int viommu_get_resv_regions(struct viommu_endpoint *vdev, struct iommu_resv_region *out, int max);

struct viommu_domain *viommu_domain_alloc_paging(struct viommu_dev *viommu);
struct viommu_domain *viommu_domain_alloc_identity(struct viommu_dev *viommu, struct viommu_endpoint *vdev);
void viommu_domain_free(struct iommu_domain *domain);
int viommu_attach_dev(struct iommu_domain *domain, struct device *dev);
int viommu_detach_dev(struct viommu_endpoint *vdev);

int viommu_add_req(struct viommu_dev *viommu, void *buf, size_t len);
int viommu_sync_req(struct viommu_dev *viommu);
int viommu_send_req_sync(struct viommu_dev *viommu, void *buf, size_t len);

int viommu_map_pages(struct iommu_domain *domain, uint64_t iova, phys_addr_t paddr, size_t pgsize, size_t pgcount,
                     int prot, size_t *mapped);
size_t viommu_unmap_pages(struct iommu_domain *domain, uint64_t iova, size_t pgsize, size_t pgcount,
                          struct iommu_iotlb_gather *gather);
void viommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather);
int viommu_iotlb_sync_map(struct iommu_domain *domain, uint64_t iova, size_t size);
void viommu_flush_iotlb_all(struct iommu_domain *domain);
phys_addr_t viommu_iova_to_phys(struct iommu_domain *domain, uint64_t iova);
bool viommu_capable(struct viommu_dev *viommu, int cap);

/* Processes used event buffers (the event vq's interrupt handler calls this; tests may poll it). */
void viommu_event_handler(struct viommu_dev *viommu);

static inline struct viommu_domain *to_viommu_domain(struct iommu_domain *d)
{
    return (struct viommu_domain *)d; /* domain is the first member */
}

/* Linux's iommu_probe_device + iommu_setup_default_domain for one endpoint: probe (PROBE), a default domain
 * from the policy (identity for iommu.passthrough=1; else DMA or DMA_FQ, falling back to strict without
 * IOMMU_CAP_DEFERRED_FLUSH), the DMA cookie, and ATTACH. *hw_msi tells whether the device reported an MSI
 * RESV_MEM region covering 0xFEE00000 (MSI writes bypass translation). */
int viommu_setup_device(struct viommu_dev *viommu, struct device *dev, uint32_t epid, struct viommu_endpoint *vdev,
                        bool *hw_msi);
/* Release: DETACH and free the default domain. */
void viommu_release_device(struct viommu_endpoint *vdev);

#endif
