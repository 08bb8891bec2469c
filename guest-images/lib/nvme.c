#include "nvme.h"
#include "alloc.h"
#include "apic.h"
#include "mmio.h"
#include "pci.h"
#include "vtime.h"

#define NVME_REG_CAP 0x00
#define NVME_REG_VS 0x08
#define NVME_REG_CC 0x14
#define NVME_REG_CSTS 0x1C
#define NVME_REG_AQA 0x24
#define NVME_REG_ASQ 0x28
#define NVME_REG_ACQ 0x30
#define NVME_CC_EN 1u
#define NVME_CC_IOSQES (6u << 16)
#define NVME_CC_IOCQES (4u << 20)
#define NVME_CSTS_RDY 1u
#define NVME_CSTS_CFS 2u

#define nvme_admin_delete_sq 0x00
#define nvme_admin_create_sq 0x01
#define nvme_admin_delete_cq 0x04
#define nvme_admin_create_cq 0x05
#define nvme_admin_identify 0x06
#define nvme_admin_set_features 0x09
#define nvme_cmd_write 0x01
#define nvme_cmd_read 0x02

static uint64_t nvme_readq(struct nvme_ctrl *c, uint32_t off) { return mmio_read64(c->bar + off); }
static uint32_t nvme_readl(struct nvme_ctrl *c, uint32_t off) { return mmio_read32(c->bar + off); }
static void nvme_writel(struct nvme_ctrl *c, uint32_t off, uint32_t v) { mmio_write32(c->bar + off, v); }

static int nvme_wait_ready(struct nvme_ctrl *c, bool enabled)
{
    uint64_t to = (((c->cap >> 24) & 0xFF) + 1) * 500000000ull;
    uint64_t d = vtime_deadline(to);
    for (uint32_t i = 0; i < 100000000u; i++) {
        uint32_t csts = nvme_readl(c, NVME_REG_CSTS);
        if (csts == 0xFFFFFFFFu) return -ENODEV;
        if (csts & NVME_CSTS_CFS && enabled) return -EIO;
        if (((csts & NVME_CSTS_RDY) != 0) == enabled) return 0;
        if (vtime_expired(d)) break;
        cpu_relax();
    }
    printf("nvme: timeout waiting for CSTS.RDY=%d\n", enabled);
    return -ETIMEDOUT;
}

static int nvme_alloc_queue(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid, uint16_t depth)
{
    memset(q, 0, sizeof *q);
    q->qid = qid;
    q->depth = depth;
    q->cq_phase = 1;
    q->sq = dma_alloc_coherent(c->dev, (size_t)depth * 64, &q->sq_dma);
    q->cq = dma_alloc_coherent(c->dev, (size_t)depth * 16, &q->cq_dma);
    if (!q->sq || !q->cq) return -ENOMEM;
    q->sq_db = c->bar + 0x1000 + (2u * qid) * c->db_stride;
    q->cq_db = c->bar + 0x1000 + (2u * qid + 1) * c->db_stride;
    return 0;
}

static void nvme_sq_push(struct nvme_queue *q, const struct nvme_command *cmd)
{
    memcpy(&q->sq[q->sq_tail], cmd, sizeof *cmd);
    q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->depth);
    mb();
    mmio_write32(q->sq_db, q->sq_tail);
    q->doorbells++;
}

/* Admin commands are polled (the admin CQ's vector 0 interrupt is only counted). */
static int nvme_submit_admin(struct nvme_ctrl *c, struct nvme_command *cmd, uint32_t *result)
{
    static uint16_t next_cid;
    cmd->cid = next_cid++;
    nvme_sq_push(&c->admin, cmd);
    struct nvme_queue *q = &c->admin;
    uint64_t d = vtime_deadline(NVME_ADMIN_TIMEOUT_NS);
    for (uint32_t i = 0; i < 200000000u; i++) {
        volatile struct nvme_completion *cqe = &q->cq[q->cq_head];
        if ((cqe->status & 1) == q->cq_phase) {
            barrier();
            uint16_t status = (uint16_t)(cqe->status >> 1);
            uint16_t cid = cqe->cid;
            if (result) *result = cqe->result;
            if (++q->cq_head == q->depth) {
                q->cq_head = 0;
                q->cq_phase ^= 1;
            }
            mmio_write32(q->cq_db, q->cq_head);
            if (cid != cmd->cid) continue; /* a stale completion */
            c->last_admin_status = status & 0x7FF;
            if (status & 0x7FF) {
                printf("nvme: admin opcode 0x%02x failed: SCT %u SC 0x%02x\n", cmd->opcode, (status >> 8) & 7,
                       status & 0xFF);
                return -EIO;
            }
            return 0;
        }
        if (vtime_expired(d)) break;
        cpu_relax();
    }
    printf("nvme: admin opcode 0x%02x timed out (CSTS 0x%x)\n", cmd->opcode, nvme_readl(c, NVME_REG_CSTS));
    c->dead = true;
    return -ETIMEDOUT;
}

static void nvme_irq(uint8_t vector, void *ctx)
{
    struct nvme_ctrl *c = ctx;
    c->stats.interrupts++;
    if (vector == NVME_IO_VECTOR) nvme_process_cq(c);
}

static void copy_trim(char *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = 0;
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == 0)) dst[--n] = 0;
}

int nvme_init(struct nvme_ctrl *c, uint16_t bdf, struct device *dev, bool poll, uint16_t io_depth, uint64_t msi_addr)
{
    memset(c, 0, sizeof *c);
    c->bdf = bdf;
    c->dev = dev;
    c->poll = poll;
    c->bar = (uintptr_t)pci_bar_address(bdf, 0);
    if (!c->bar) {
        printf("nvme: BAR0 not assigned\n");
        return -ENODEV;
    }
    pci_write16(bdf, PCI_COMMAND, pci_read16(bdf, PCI_COMMAND) | PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE);
    if (nvme_readl(c, NVME_REG_CSTS) == 0xFFFFFFFFu) {
        printf("nvme: controller not responding\n");
        return -ENODEV;
    }
    c->cap = nvme_readq(c, NVME_REG_CAP);
    c->vs = nvme_readl(c, NVME_REG_VS);
    c->db_stride = 4u << ((c->cap >> 32) & 0xF);
    uint32_t mqes = (uint32_t)(c->cap & 0xFFFF) + 1;
    if (io_depth > mqes) io_depth = (uint16_t)mqes;
    if (io_depth > NVME_MAX_IO_DEPTH) io_depth = NVME_MAX_IO_DEPTH;
    if (io_depth < 2) io_depth = 2;
    if (((c->cap >> 48) & 0xF) > 0) {
        printf("nvme: MPSMIN > 4 KiB not supported\n");
        return -ENODEV;
    }

    /* Disable, program the admin queues, enable. */
    uint32_t cc = nvme_readl(c, NVME_REG_CC);
    if (cc & NVME_CC_EN) {
        nvme_writel(c, NVME_REG_CC, cc & ~(NVME_CC_EN | (3u << 14)));
    }
    int ret = nvme_wait_ready(c, false);
    if (ret) return ret;
    ret = nvme_alloc_queue(c, &c->admin, 0, NVME_ADMIN_DEPTH);
    if (ret) return ret;
    nvme_writel(c, NVME_REG_AQA, (NVME_ADMIN_DEPTH - 1) | ((NVME_ADMIN_DEPTH - 1) << 16));
    mmio_write64(c->bar + NVME_REG_ASQ, c->admin.sq_dma);
    mmio_write64(c->bar + NVME_REG_ACQ, c->admin.cq_dma);
    nvme_writel(c, NVME_REG_CC, NVME_CC_EN | NVME_CC_IOSQES | NVME_CC_IOCQES);
    ret = nvme_wait_ready(c, true);
    if (ret) {
        printf("nvme: enable failed (CSTS 0x%x)\n", nvme_readl(c, NVME_REG_CSTS));
        return ret;
    }

    /* MSI-X: vector 0 admin, vector 1 I/O. */
    /* Polled mode uses no interrupt at all (the admin queue is polled in both modes). */
    c->have_msix = !poll && msix_init(&c->msix, bdf) == 0;
    if (c->have_msix) {
        irq_register(NVME_ADMIN_VECTOR, nvme_irq, c);
        irq_register(NVME_IO_VECTOR, nvme_irq, c);
        msix_set_vector(&c->msix, 0, (uint32_t)msi_addr, msi_data(NVME_ADMIN_VECTOR));
        if (c->msix.table_size > 1) msix_set_vector(&c->msix, 1, (uint32_t)msi_addr, msi_data(NVME_IO_VECTOR));
        msix_enable(&c->msix, true);
    } else if (!poll) {
        printf("nvme: no MSI-X capability; using polled mode\n");
        c->poll = true;
    }

    /* Identify Controller. */
    dma_addr_t id_dma;
    uint8_t *id = dma_alloc_coherent(dev, 4096, &id_dma);
    if (!id) return -ENOMEM;
    struct nvme_command cmd = { .opcode = nvme_admin_identify, .prp1 = id_dma, .cdw10 = 1 };
    ret = nvme_submit_admin(c, &cmd, NULL);
    if (ret) return ret;
    copy_trim(c->serial, id + 4, 20);
    copy_trim(c->model, id + 24, 40);
    uint8_t mdts = id[77];
    c->max_transfer = mdts ? (4096u << mdts) : (2u << 20);
    if (c->max_transfer > 2u << 20) c->max_transfer = 2u << 20; /* one PRP list page */
    uint32_t nn;
    memcpy(&nn, id + 516, 4);

    /* Active namespace list (CNS 02h), first NSID. */
    memset(id, 0, 4096);
    cmd = (struct nvme_command){ .opcode = nvme_admin_identify, .prp1 = id_dma, .cdw10 = 2 };
    ret = nvme_submit_admin(c, &cmd, NULL);
    if (ret) return ret;
    memcpy(&c->nsid, id, 4);
    if (!c->nsid) {
        printf("nvme: no active namespace\n");
        return -ENODEV;
    }
    memset(id, 0, 4096);
    cmd = (struct nvme_command){ .opcode = nvme_admin_identify, .nsid = c->nsid, .prp1 = id_dma, .cdw10 = 0 };
    ret = nvme_submit_admin(c, &cmd, NULL);
    if (ret) return ret;
    memcpy(&c->nsze, id, 8);
    uint8_t flbas = id[26] & 0xF;
    c->lba_shift = id[128 + 4 * flbas + 2];
    if (c->lba_shift < 9) c->lba_shift = 9;
    uint64_t ncap;
    memcpy(&ncap, id + 8, 8);
    dma_free_coherent(dev, 4096, id, id_dma);
    if (!ncap || !c->nsze) {
        printf("nvme: namespace %u has no capacity\n", c->nsid);
        return -ENODEV;
    }

    /* Number of queues: one pair. */
    uint32_t result = 0;
    cmd = (struct nvme_command){ .opcode = nvme_admin_set_features, .cdw10 = 7, .cdw11 = 0 };
    ret = nvme_submit_admin(c, &cmd, &result);
    if (ret) return ret;

    ret = nvme_alloc_queue(c, &c->io, 1, io_depth);
    if (ret) return ret;
    uint16_t iv = c->have_msix && c->msix.table_size > 1 ? 1 : 0;
    cmd = (struct nvme_command){ .opcode = nvme_admin_create_cq, .prp1 = c->io.cq_dma,
                                 .cdw10 = 1u | ((uint32_t)(io_depth - 1) << 16),
                                 .cdw11 = 1u | (c->poll ? 0 : 2u) | ((uint32_t)iv << 16) };
    ret = nvme_submit_admin(c, &cmd, NULL);
    if (ret) return ret;
    cmd = (struct nvme_command){ .opcode = nvme_admin_create_sq, .prp1 = c->io.sq_dma,
                                 .cdw10 = 1u | ((uint32_t)(io_depth - 1) << 16), .cdw11 = 1u | (1u << 16) };
    ret = nvme_submit_admin(c, &cmd, NULL);
    if (ret) return ret;

    /* Requests: depth - 1 usable (a full SQ keeps one slot empty), each with a PRP list page. */
    c->reqs = kzalloc(sizeof(struct nvme_request) * io_depth);
    if (!c->reqs) return -ENOMEM;
    for (uint16_t i = 0; i < io_depth - 1; i++) {
        c->reqs[i].cid = i;
        c->reqs[i].prp_list = dma_alloc_coherent(dev, 4096, &c->reqs[i].prp_dma);
        if (!c->reqs[i].prp_list) return -ENOMEM;
    }
    c->nr_free = (uint16_t)(io_depth - 1);
    printf("nvme: %02x:%02x.%x \"%s\" sn \"%s\" VS %u.%u, ns %u: %llu blocks of %u B, MQES %u, I/O queue depth %u, "
           "%s, max transfer %u KiB\n",
           bdf >> 8, (bdf >> 3) & 31, bdf & 7, c->model, c->serial, c->vs >> 16, (c->vs >> 8) & 0xFF, c->nsid,
           (unsigned long long)c->nsze, 1u << c->lba_shift, mqes, io_depth,
           c->poll ? "polled" : "MSI-X interrupts", c->max_transfer >> 10);
    (void)nn;
    return 0;
}

uint16_t nvme_inflight(struct nvme_ctrl *c) { return (uint16_t)(c->io.depth - 1 - c->nr_free); }

static struct nvme_request *nvme_get_req(struct nvme_ctrl *c)
{
    for (uint16_t i = 0; i < c->io.depth - 1; i++) {
        if (!c->reqs[i].busy) {
            c->reqs[i].busy = true;
            c->nr_free--;
            return &c->reqs[i];
        }
    }
    return NULL;
}

static void nvme_put_req(struct nvme_ctrl *c, struct nvme_request *r)
{
    r->busy = false;
    c->nr_free++;
}

/* Builds PRP1/PRP2 (or a PRP list) from the mapped scatter list. */
static int nvme_setup_prps(struct nvme_request *r, struct nvme_command *cmd, int nsegs)
{
    uint64_t first = r->single ? r->sg[0].dma_address : r->sg[0].dma_address;
    cmd->prp1 = first;
    uint32_t n = 0;
    for (int i = 0; i < nsegs; i++) {
        uint64_t a = r->sg[i].dma_address, len = r->sg[i].dma_length;
        uint64_t end = a + len;
        if (i > 0 && (a & 4095)) return -EINVAL; /* only PRP1 may have an offset */
        if (i < nsegs - 1 && (end & 4095)) return -EINVAL;
        uint64_t p = (i == 0) ? ALIGN_DOWN(a, 4096) + 4096 : a;
        for (; p < end; p += 4096) {
            if (n >= 511) return -EINVAL;
            r->prp_list[n++] = p;
        }
    }
    if (n == 0) cmd->prp2 = 0;
    else if (n == 1) cmd->prp2 = r->prp_list[0];
    else cmd->prp2 = r->prp_dma;
    return 0;
}

int nvme_submit_rw(struct nvme_ctrl *c, bool write, uint64_t slba, uint32_t nlb, const struct scatterlist *sg,
                   int nents, nvme_done_fn done, void *ctx)
{
    if (c->dead) return -EIO;
    if (nents <= 0 || nents > NVME_MAX_SEGS || nlb == 0 || nlb > 65536) return -EINVAL;
    uint64_t flags = irq_save();
    struct nvme_request *r = nvme_get_req(c);
    if (!r) {
        irq_restore(flags);
        return -EBUSY;
    }
    r->write = write;
    r->nents = nents;
    r->done = done;
    r->ctx = ctx;
    r->status = 0;
    r->length = nlb << c->lba_shift;
    memcpy(r->sg, sg, sizeof(*sg) * (size_t)nents);
    enum dma_data_direction dir = write ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
    /* One segment within 8 KiB: dma_map_page (Linux: nvme_setup_prp_simple / dma_map_bvec); else dma_map_sg. */
    int nsegs;
    if (nents == 1 && (sg[0].phys & 4095) + sg[0].length <= 8192) {
        r->single = true;
        r->sg[0].dma_address = dma_map_page(c->dev, sg[0].phys, sg[0].length, dir);
        r->sg[0].dma_length = sg[0].length;
        nsegs = r->sg[0].dma_address == DMA_MAPPING_ERROR ? 0 : 1;
    } else {
        r->single = false;
        nsegs = dma_map_sg(c->dev, r->sg, nents, dir);
    }
    if (!nsegs) {
        nvme_put_req(c, r);
        irq_restore(flags);
        return -ENOMEM;
    }
    r->mapped = nsegs;
    struct nvme_command cmd = { .opcode = write ? nvme_cmd_write : nvme_cmd_read, .cid = r->cid, .nsid = c->nsid,
                                .cdw10 = (uint32_t)slba, .cdw11 = (uint32_t)(slba >> 32), .cdw12 = nlb - 1 };
    if (nvme_setup_prps(r, &cmd, nsegs)) {
        printf("nvme: scatter list cannot be expressed as PRPs\n");
        if (r->single) dma_unmap_page(c->dev, r->sg[0].dma_address, r->sg[0].dma_length, dir);
        else dma_unmap_sg(c->dev, r->sg, nents, dir);
        nvme_put_req(c, r);
        irq_restore(flags);
        return -EINVAL;
    }
    r->t_submit = vtime_ns();
    nvme_sq_push(&c->io, &cmd);
    c->stats.submitted++;
    c->stats.sq_doorbells++;
    irq_restore(flags);
    return 0;
}

int nvme_submit_raw(struct nvme_ctrl *c, struct nvme_command *cmd, nvme_done_fn done, void *ctx)
{
    uint64_t flags = irq_save();
    struct nvme_request *r = nvme_get_req(c);
    if (!r) {
        irq_restore(flags);
        return -EBUSY;
    }
    r->nents = 0;
    r->mapped = 0;
    r->done = done;
    r->ctx = ctx;
    r->status = 0;
    cmd->cid = r->cid;
    if (!cmd->nsid) cmd->nsid = c->nsid;
    r->t_submit = vtime_ns();
    nvme_sq_push(&c->io, cmd);
    c->stats.submitted++;
    irq_restore(flags);
    return 0;
}

int nvme_process_cq(struct nvme_ctrl *c)
{
    uint64_t flags = irq_save();
    struct nvme_queue *q = &c->io;
    int n = 0;
    c->stats.polls++;
    while (n < q->depth) {
        volatile struct nvme_completion *cqe = &q->cq[q->cq_head];
        if ((cqe->status & 1) != q->cq_phase) break;
        barrier();
        uint16_t status = (uint16_t)((cqe->status >> 1) & 0x7FF);
        uint16_t cid = cqe->cid;
        uint32_t result = cqe->result;
        if (++q->cq_head == q->depth) {
            q->cq_head = 0;
            q->cq_phase ^= 1;
        }
        n++;
        if (cid >= q->depth - 1 || !c->reqs[cid].busy) {
            printf("nvme: completion for unknown command %u\n", cid);
            continue;
        }
        struct nvme_request *r = &c->reqs[cid];
        r->status = status;
        r->result = result;
        if (status) c->stats.errors++;
        /* Unmap (Linux: nvme_pci_complete_rq → nvme_unmap_data). */
        if (r->mapped) {
            enum dma_data_direction dir = r->write ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
            if (r->single) dma_unmap_page(c->dev, r->sg[0].dma_address, r->sg[0].dma_length, dir);
            else dma_unmap_sg(c->dev, r->sg, r->nents, dir);
        }
        c->stats.completed++;
        if (r->done) r->done(c, r); /* before the slot is reused */
        nvme_put_req(c, r);
    }
    if (n) {
        mmio_write32(q->cq_db, q->cq_head); /* once per batch */
        c->stats.cq_doorbells++;
    }
    irq_restore(flags);
    return n;
}

int nvme_wait_completion(struct nvme_ctrl *c, uint64_t timeout_ns)
{
    volatile uint64_t *completed = &c->stats.completed;
    uint64_t before = *completed;
    uint64_t d = vtime_deadline(timeout_ns);
    /* Interrupt mode: interrupts (MSI-X, the flush-queue timer) are let in for the whole wait; the loop's
     * backward branch gives TCG-style emulators a point to deliver them. Polled mode reaps the CQ itself. */
    irq_enable(); /* polled mode too: the flush-queue timer must run */
    for (uint64_t i = 0; i < 1000000000ull; i++) {
        if (c->poll) nvme_process_cq(c);
        else cpu_relax();
        if (*completed != before || vtime_expired(d)) break;
    }
    irq_disable();
    if (*completed != before) return (int)(*completed - before);
    /* Missed interrupt? Look once more before giving up (as Linux's timeout handler does). */
    if (nvme_process_cq(c) > 0) return (int)(c->stats.completed - before);
    printf("nvme: no completion within %llu ms (%u in flight, CSTS 0x%x)\n",
           (unsigned long long)(timeout_ns / 1000000), nvme_inflight(c), nvme_readl(c, NVME_REG_CSTS));
    return -ETIMEDOUT;
}

void nvme_shutdown(struct nvme_ctrl *c)
{
    if (!c->bar || c->dead) return;
    struct nvme_command cmd = { .opcode = nvme_admin_delete_sq, .cdw10 = 1 };
    nvme_submit_admin(c, &cmd, NULL);
    cmd = (struct nvme_command){ .opcode = nvme_admin_delete_cq, .cdw10 = 1 };
    nvme_submit_admin(c, &cmd, NULL);
    uint32_t cc = nvme_readl(c, NVME_REG_CC);
    nvme_writel(c, NVME_REG_CC, (cc & ~(3u << 14)) | (1u << 14));
    uint64_t d = vtime_deadline(1000000000ull);
    for (uint32_t i = 0; i < 10000000u && ((nvme_readl(c, NVME_REG_CSTS) >> 2) & 3) != 2 && !vtime_expired(d); i++)
        cpu_relax();
    if (c->have_msix) msix_enable(&c->msix, false);
}
