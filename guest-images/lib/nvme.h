/*
 * NVMe driver (NVMe 1.4 base spec; bring-up in the order of Linux nvme-pci, reference nvme.md §9): disable,
 * admin queues (32 entries) in DMA-coherent memory, enable, Identify Controller, Identify active NS list and
 * Namespace, Set Features Number of Queues, one I/O CQ/SQ pair (MSI-X vector 1, or IEN = 0 in polled mode).
 * Data: a scatter list mapped with dma_map_page (one segment within 8 KiB, as Linux's dma_map_bvec) or dma_map_sg,
 * PRP1/PRP2 or a PRP list page (per command, preallocated coherent); completion unmaps. All waits are bounded in
 * virtual time (NVME_ADMIN_TIMEOUT_NS, NVME_IO_TIMEOUT_NS).
 */
#ifndef GUEST_NVME_H
#define GUEST_NVME_H

#include "runtime.h"
#include "iommu.h"
#include "msix.h"

#define NVME_ADMIN_DEPTH 32
#define NVME_MAX_IO_DEPTH 1024
#define NVME_MAX_SEGS 128
#define NVME_ADMIN_VECTOR 0x30
#define NVME_IO_VECTOR 0x31
#define NVME_ADMIN_TIMEOUT_NS 2000000000ull
#define NVME_IO_TIMEOUT_NS 5000000000ull

struct nvme_command {
    uint8_t opcode, flags;
    uint16_t cid;
    uint32_t nsid;
    uint32_t cdw2, cdw3;
    uint64_t mptr, prp1, prp2;
    uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
_Static_assert(sizeof(struct nvme_command) == 64, "SQE");

struct nvme_completion {
    uint32_t result, rsvd;
    uint16_t sq_head, sq_id, cid, status;
};
_Static_assert(sizeof(struct nvme_completion) == 16, "CQE");

struct nvme_queue {
    uint16_t qid, depth, sq_tail, cq_head;
    uint8_t cq_phase;
    struct nvme_command *sq;
    dma_addr_t sq_dma;
    volatile struct nvme_completion *cq;
    dma_addr_t cq_dma;
    uintptr_t sq_db, cq_db;
    uint64_t doorbells;
};

struct nvme_ctrl;
struct nvme_request;
typedef void (*nvme_done_fn)(struct nvme_ctrl *ctrl, struct nvme_request *req);

struct nvme_request {
    uint16_t cid;
    bool busy;
    bool write;
    uint16_t status;      /* SCT << 8 | SC, 0 = success */
    uint32_t result;
    int nents, mapped;
    bool single;          /* mapped with dma_map_page */
    uint32_t length;
    struct scatterlist sg[NVME_MAX_SEGS];
    uint64_t *prp_list;
    dma_addr_t prp_dma;
    uint64_t t_submit;    /* vtime ns */
    nvme_done_fn done;
    void *ctx;
};

struct nvme_stats { uint64_t submitted, completed, errors, interrupts, polls, cq_doorbells, sq_doorbells; };

struct nvme_ctrl {
    uint16_t bdf;
    uintptr_t bar;
    uint64_t cap;
    uint32_t db_stride;
    uint32_t vs;
    struct device *dev;
    struct msix msix;
    bool have_msix;
    bool poll;
    struct nvme_queue admin, io;
    struct nvme_request *reqs; /* io.depth of them, cid = index */
    uint16_t nr_free;
    uint32_t nsid;
    uint32_t lba_shift;
    uint64_t nsze;
    uint32_t max_transfer;
    char model[41], serial[21];
    uint16_t last_admin_status;
    struct nvme_stats stats;
    bool dead;
};

/* Brings the controller up; dev must already have its DMA domain. msi_addr: the doorbell address to program
 * (iommu_dma_compose_msi_address). Returns 0 or -errno (messages printed). */
int nvme_init(struct nvme_ctrl *ctrl, uint16_t bdf, struct device *dev, bool poll, uint16_t io_depth,
              uint64_t msi_addr);
/* Submits a Read or Write of nlb blocks at slba from/to the scatter list (copied into the request). */
int nvme_submit_rw(struct nvme_ctrl *ctrl, bool write, uint64_t slba, uint32_t nlb, const struct scatterlist *sg,
                   int nents, nvme_done_fn done, void *ctx);
/* Submits a raw I/O command with a caller-built PRP1 (no mapping): for the fault test. */
int nvme_submit_raw(struct nvme_ctrl *ctrl, struct nvme_command *cmd, nvme_done_fn done, void *ctx);
/* Processes the I/O CQ (polled mode, or to catch up). Returns the number of completions. */
int nvme_process_cq(struct nvme_ctrl *ctrl);
/* Waits (interrupts enabled, or polling) until at least one completion or the timeout. Returns completions or
 * -ETIMEDOUT. */
int nvme_wait_completion(struct nvme_ctrl *ctrl, uint64_t timeout_ns);
uint16_t nvme_inflight(struct nvme_ctrl *ctrl);
void nvme_shutdown(struct nvme_ctrl *ctrl);

#endif
