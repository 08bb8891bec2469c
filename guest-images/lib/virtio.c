#include "virtio.h"
#include "pci.h"
#include "mmio.h"
#include "alloc.h"
#include "vtime.h"

/* Common configuration structure offsets (virtio 1.2 §4.1.4.3). */
#define VC_DFSELECT 0
#define VC_DF 4
#define VC_GFSELECT 8
#define VC_GF 12
#define VC_MSIX 16
#define VC_NUMQ 18
#define VC_STATUS 20
#define VC_GEN 21
#define VC_Q_SELECT 22
#define VC_Q_SIZE 24
#define VC_Q_MSIX 26
#define VC_Q_ENABLE 28
#define VC_Q_NOFF 30
#define VC_Q_DESC 32
#define VC_Q_DRIVER 40
#define VC_Q_DEVICE 48

#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR 3
#define VIRTIO_PCI_CAP_DEVICE 4

int virtio_pci_probe(struct virtio_pci_dev *vd, uint16_t bdf)
{
    memset(vd, 0, sizeof *vd);
    vd->bdf = bdf;
    uint8_t cap = 0;
    for (int guard = 0; guard < 48; guard++) {
        cap = pci_find_cap(bdf, PCI_CAP_ID_VNDR, cap);
        if (!cap) break;
        uint8_t type = pci_read8(bdf, (uint16_t)(cap + 3));
        uint8_t bar = pci_read8(bdf, (uint16_t)(cap + 4));
        uint32_t off = pci_read32(bdf, (uint16_t)(cap + 8));
        if (bar > 5) continue;
        uint64_t base = pci_bar_address(bdf, bar);
        if (!base) continue;
        uintptr_t a = (uintptr_t)(base + off);
        switch (type) {
        case VIRTIO_PCI_CAP_COMMON: if (!vd->common) vd->common = a; break;
        case VIRTIO_PCI_CAP_NOTIFY:
            if (!vd->notify_base) {
                vd->notify_base = a;
                vd->notify_mult = pci_read32(bdf, (uint16_t)(cap + 16));
            }
            break;
        case VIRTIO_PCI_CAP_ISR: if (!vd->isr) vd->isr = a; break;
        case VIRTIO_PCI_CAP_DEVICE: if (!vd->device_cfg) vd->device_cfg = a; break;
        default: break;
        }
    }
    if (!vd->common || !vd->notify_base) return -ENODEV;
    pci_write16(bdf, PCI_COMMAND, pci_read16(bdf, PCI_COMMAND) | PCI_CMD_MEMORY | PCI_CMD_MASTER);
    vd->have_msix = msix_init(&vd->msix, bdf) == 0;
    return 0;
}

uint8_t virtio_get_status(struct virtio_pci_dev *vd) { return mmio_read8(vd->common + VC_STATUS); }

void virtio_reset(struct virtio_pci_dev *vd)
{
    mmio_write8(vd->common + VC_STATUS, 0);
    uint64_t d = vtime_deadline(100000000); /* 100 ms */
    for (uint32_t i = 0; i < 1000000 && mmio_read8(vd->common + VC_STATUS) != 0 && !vtime_expired(d); i++)
        cpu_relax();
}

void virtio_add_status(struct virtio_pci_dev *vd, uint8_t s)
{
    mmio_write8(vd->common + VC_STATUS, (uint8_t)(virtio_get_status(vd) | s));
}

uint64_t virtio_device_features(struct virtio_pci_dev *vd)
{
    mmio_write32(vd->common + VC_DFSELECT, 0);
    uint64_t lo = mmio_read32(vd->common + VC_DF);
    mmio_write32(vd->common + VC_DFSELECT, 1);
    uint64_t hi = mmio_read32(vd->common + VC_DF);
    return lo | hi << 32;
}

int virtio_negotiate(struct virtio_pci_dev *vd, uint64_t wanted)
{
    uint64_t f = virtio_device_features(vd) & wanted;
    mmio_write32(vd->common + VC_GFSELECT, 0);
    mmio_write32(vd->common + VC_GF, (uint32_t)f);
    mmio_write32(vd->common + VC_GFSELECT, 1);
    mmio_write32(vd->common + VC_GF, (uint32_t)(f >> 32));
    virtio_add_status(vd, VIRTIO_STATUS_FEATURES_OK);
    if (!(virtio_get_status(vd) & VIRTIO_STATUS_FEATURES_OK)) return -ENODEV;
    vd->features = f;
    return 0;
}

uint16_t virtio_num_queues(struct virtio_pci_dev *vd) { return mmio_read16(vd->common + VC_NUMQ); }

void virtio_cfg_read(struct virtio_pci_dev *vd, uint32_t off, void *buf, uint32_t len)
{
    /* Re-read while config_generation changes (bounded), byte by byte for fields of any width. */
    for (int tries = 0; tries < 16; tries++) {
        uint8_t g0 = mmio_read8(vd->common + VC_GEN);
        for (uint32_t i = 0; i < len; i += 4) {
            if (len - i >= 4) {
                uint32_t v = mmio_read32(vd->device_cfg + off + i);
                memcpy((uint8_t *)buf + i, &v, 4);
            } else {
                for (uint32_t j = i; j < len; j++) ((uint8_t *)buf)[j] = mmio_read8(vd->device_cfg + off + j);
            }
        }
        if (mmio_read8(vd->common + VC_GEN) == g0) return;
    }
}

int virtio_setup_vq(struct virtio_pci_dev *vd, struct virtqueue *vq, uint16_t index, uint16_t msix_vector)
{
    memset(vq, 0, sizeof *vq);
    mmio_write16(vd->common + VC_Q_SELECT, index);
    uint16_t size = mmio_read16(vd->common + VC_Q_SIZE);
    if (size == 0) return -ENODEV;
    if (size > VIRTQ_MAX_SIZE) size = VIRTQ_MAX_SIZE;
    if (size & (size - 1)) { /* split rings may be any size; keep it a power of two for simplicity */
        uint16_t p = 1;
        while ((uint16_t)(p << 1) <= size) p = (uint16_t)(p << 1);
        size = p;
    }
    size_t desc_bytes = 16u * size, avail_bytes = 6u + 2u * size, used_bytes = 6u + 8u * size;
    uint8_t *mem = page_alloc((ALIGN_UP(desc_bytes + avail_bytes, 4096) + ALIGN_UP(used_bytes, 4096)) / 4096);
    if (!mem) return -ENOMEM;
    vq->index = index;
    vq->num = size;
    vq->num_free = size;
    vq->desc = (struct vring_desc *)mem;
    vq->avail = (volatile uint16_t *)(mem + desc_bytes);
    vq->used = mem + ALIGN_UP(desc_bytes + avail_bytes, 4096);
    for (uint16_t i = 0; i < size; i++) vq->desc[i].next = (uint16_t)(i + 1);
    vq->free_head = 0;
    mmio_write16(vd->common + VC_Q_SIZE, size);
    mmio_write64(vd->common + VC_Q_DESC, (uint64_t)(uintptr_t)vq->desc);
    mmio_write64(vd->common + VC_Q_DRIVER, (uint64_t)(uintptr_t)vq->avail);
    mmio_write64(vd->common + VC_Q_DEVICE, (uint64_t)(uintptr_t)vq->used);
    mmio_write16(vd->common + VC_Q_MSIX, msix_vector);
    if (msix_vector != VIRTIO_MSI_NO_VECTOR && mmio_read16(vd->common + VC_Q_MSIX) != msix_vector) return -EIO;
    uint16_t noff = mmio_read16(vd->common + VC_Q_NOFF);
    vq->notify = vd->notify_base + (uintptr_t)noff * vd->notify_mult;
    mmio_write16(vd->common + VC_Q_ENABLE, 1);
    return 0;
}

void virtqueue_disable_cb(struct virtqueue *vq) { vq->avail[0] = VRING_AVAIL_F_NO_INTERRUPT; }

int virtqueue_add_sgs(struct virtqueue *vq, const struct virtio_sg *out, unsigned nout,
                      const struct virtio_sg *in, unsigned nin, void *token)
{
    unsigned total = nout + nin;
    if (total == 0 || !token) return -EINVAL;
    if (total > vq->num_free) return -ENOSPC;
    uint16_t head = vq->free_head, idx = head, last = head;
    for (unsigned i = 0; i < total; i++) {
        const struct virtio_sg *sg = i < nout ? &out[i] : &in[i - nout];
        struct vring_desc *d = &vq->desc[idx];
        d->addr = sg->addr;
        d->len = sg->len;
        d->flags = (uint16_t)((i < nout ? 0 : VRING_DESC_F_WRITE) | (i + 1 < total ? VRING_DESC_F_NEXT : 0));
        last = idx;
        idx = d->next;
    }
    (void)last;
    vq->free_head = idx;
    vq->num_free = (uint16_t)(vq->num_free - total);
    vq->tokens[head] = token;
    vq->heads_len[head] = (uint16_t)total;
    vq->avail[2 + (vq->avail_idx & (vq->num - 1))] = head;
    vq->avail_idx++;
    vq->added_since_kick++;
    /* Publish the index at once (Linux does it per add too); the notify is the kick's job. */
    barrier();
    vq->avail[1] = vq->avail_idx;
    return 0;
}

int virtqueue_add_inbuf(struct virtqueue *vq, uint64_t addr, uint32_t len, void *token)
{
    struct virtio_sg sg = { addr, len };
    return virtqueue_add_sgs(vq, NULL, 0, &sg, 1, token);
}

void virtqueue_kick(struct virtqueue *vq)
{
    mb();
    vq->kicks++;
    uint16_t used_flags = *(volatile uint16_t *)vq->used;
    if (!(used_flags & VRING_USED_F_NO_NOTIFY)) {
        mmio_write16(vq->notify, vq->index);
        vq->notifies++;
    }
    vq->added_since_kick = 0;
}

void *virtqueue_get_buf(struct virtqueue *vq, uint32_t *len)
{
    uint16_t used_idx = *(volatile uint16_t *)(vq->used + 2);
    if (used_idx == vq->last_used_idx) return NULL;
    barrier();
    const volatile struct vring_used_elem *e =
        (const volatile struct vring_used_elem *)(vq->used + 4) + (vq->last_used_idx & (vq->num - 1));
    uint32_t id = e->id, l = e->len;
    vq->last_used_idx++;
    if (id >= vq->num || !vq->tokens[id]) return NULL; /* device bug: ignore the element */
    void *token = vq->tokens[id];
    vq->tokens[id] = NULL;
    /* Return the chain to the free list. */
    uint16_t n = vq->heads_len[id], i = (uint16_t)id;
    for (uint16_t k = 1; k < n; k++) i = vq->desc[i].next;
    vq->desc[i].next = vq->free_head;
    vq->free_head = (uint16_t)id;
    vq->num_free = (uint16_t)(vq->num_free + n);
    if (len) *len = l;
    return token;
}
