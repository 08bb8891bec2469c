/*
 * virtio 1.x over PCI (modern transport, virtio 1.2 §4.1) and the split virtqueue, driver side (§2.7).
 * No INDIRECT_DESC and no EVENT_IDX are negotiated: a request of n buffers takes n chained descriptors, and the
 * driver notifies unless the device set VIRTQ_USED_F_NO_NOTIFY. Rings live in guest-physical RAM (the
 * virtio-iommu itself is never behind an IOMMU; other virtio devices are not used by these images).
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include "runtime.h"
#include "msix.h"

#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128
#define VIRTIO_MSI_NO_VECTOR 0xFFFF

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

struct vring_desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct vring_used_elem { uint32_t id; uint32_t len; };

/* The largest queue this driver sets up (the device may offer more; we use min). */
#define VIRTQ_MAX_SIZE 256

struct virtqueue {
    uint16_t index;
    uint16_t num;
    uint16_t num_free;
    uint16_t free_head;
    uint16_t last_used_idx;
    uint16_t avail_idx;       /* shadow of avail->idx */
    uint16_t added_since_kick;
    struct vring_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[num] */
    volatile uint8_t *used;   /* flags, idx, ring[num] of vring_used_elem */
    uintptr_t notify;
    void *tokens[VIRTQ_MAX_SIZE];
    uint16_t heads_len[VIRTQ_MAX_SIZE]; /* descriptors per chain, by head */
    uint64_t kicks, notifies;
};

struct virtio_sg { uint64_t addr; uint32_t len; };

struct virtio_pci_dev {
    uint16_t bdf;
    uintptr_t common, notify_base, isr, device_cfg;
    uint32_t notify_mult;
    uint64_t features; /* negotiated */
    struct msix msix;
    bool have_msix;
};

int virtio_pci_probe(struct virtio_pci_dev *vd, uint16_t bdf);
void virtio_reset(struct virtio_pci_dev *vd);          /* bounded wait for status 0 */
void virtio_add_status(struct virtio_pci_dev *vd, uint8_t s);
uint8_t virtio_get_status(struct virtio_pci_dev *vd);
uint64_t virtio_device_features(struct virtio_pci_dev *vd);
/* Writes `wanted & offered`, sets FEATURES_OK and checks it stuck. Returns 0 or -ENODEV. */
int virtio_negotiate(struct virtio_pci_dev *vd, uint64_t wanted);
uint16_t virtio_num_queues(struct virtio_pci_dev *vd);
/* Allocates and enables queue `index` with MSI-X vector (or VIRTIO_MSI_NO_VECTOR). */
int virtio_setup_vq(struct virtio_pci_dev *vd, struct virtqueue *vq, uint16_t index, uint16_t msix_vector);
void virtio_cfg_read(struct virtio_pci_dev *vd, uint32_t off, void *buf, uint32_t len);

int virtqueue_add_sgs(struct virtqueue *vq, const struct virtio_sg *out, unsigned nout,
                      const struct virtio_sg *in, unsigned nin, void *token);
int virtqueue_add_inbuf(struct virtqueue *vq, uint64_t addr, uint32_t len, void *token);
/* Publishes the added buffers and notifies the device (unless it asked not to be). */
void virtqueue_kick(struct virtqueue *vq);
/* The next used buffer's token and length, or NULL when none. */
void *virtqueue_get_buf(struct virtqueue *vq, uint32_t *len);
void virtqueue_disable_cb(struct virtqueue *vq);

#endif
