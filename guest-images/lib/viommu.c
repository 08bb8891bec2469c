#include "viommu.h"
#include "alloc.h"
#include "apic.h"
#include "mmio.h"
#include "vtime.h"

struct viommu_options viommu_options = { .sync_map = true, .deferred_flush = true };
struct viommu_dev *g_viommu;

static const struct iommu_domain_ops viommu_domain_ops;
static const struct iommu_domain_ops viommu_domain_ops_nosyncmap;

/* ---- errno mapping ------------------------------------------------------------------------------------- */

static int viommu_get_req_errno(const void *buf, size_t len)
{
    const struct virtio_iommu_req_tail *tail = (const void *)((const uint8_t *)buf + len - sizeof(*tail));
    switch (tail->status) {
    case VIRTIO_IOMMU_S_OK: return 0;
    case VIRTIO_IOMMU_S_UNSUPP: return -ENOSYS;
    case VIRTIO_IOMMU_S_INVAL: return -EINVAL;
    case VIRTIO_IOMMU_S_RANGE: return -ERANGE;
    case VIRTIO_IOMMU_S_NOENT: return -ENOENT;
    case VIRTIO_IOMMU_S_FAULT: return -EFAULT;
    case VIRTIO_IOMMU_S_NOMEM: return -ENOMEM;
    default: return -EIO;
    }
}

static void viommu_count_req(struct viommu_dev *viommu, uint8_t type)
{
    switch (type) {
    case VIRTIO_IOMMU_T_ATTACH: viommu->stats.req_attach++; break;
    case VIRTIO_IOMMU_T_DETACH: viommu->stats.req_detach++; break;
    case VIRTIO_IOMMU_T_MAP: viommu->stats.req_map++; break;
    case VIRTIO_IOMMU_T_UNMAP: viommu->stats.req_unmap++; break;
    case VIRTIO_IOMMU_T_PROBE: viommu->stats.req_probe++; break;
    default: break;
    }
}

/* ---- request path ---------------------------------------------------------------------------------------- */

static int viommu_get_write_desc_offset(struct viommu_dev *viommu, const struct virtio_iommu_req_head *req, size_t len)
{
    size_t tail_size = sizeof(struct virtio_iommu_req_tail);
    if (req->type == VIRTIO_IOMMU_T_PROBE) return (int)(len - viommu->probe_size - tail_size);
    return (int)(len - tail_size);
}

/* Completes every in-flight request: kick, then poll the used ring (bounded). Caller holds the "lock" (IF=0). */
static int __viommu_sync_req(struct viommu_dev *viommu)
{
    struct virtqueue *vq = &viommu->vqs[VIOMMU_REQUEST_VQ];
    viommu->stats.syncs++;
    uint64_t notifies = vq->notifies;
    virtqueue_kick(vq);
    viommu->stats.kicks += vq->notifies - notifies;
    if (viommu->broken) return -EIO;
    uint64_t deadline = vtime_deadline(VIOMMU_SYNC_TIMEOUT_NS);
    uint64_t spins = 0;
    while (viommu->requests.next != &viommu->requests) {
        uint32_t len = 0;
        struct viommu_request *req = virtqueue_get_buf(vq, &len);
        if (!req) {
            viommu->stats.polls++;
            if (vtime_expired(deadline) || ++spins > VIOMMU_SYNC_MAX_POLLS) {
                printf("viommu: device did not complete %u request(s) within %llu ms; giving up\n",
                       viommu->nr_inflight, (unsigned long long)(VIOMMU_SYNC_TIMEOUT_NS / 1000000));
                viommu->broken = true;
                return -ETIMEDOUT;
            }
            cpu_relax();
            continue;
        }
        if (!len) { /* used length 0: an I/O error on this request */
            struct virtio_iommu_req_tail *t = (void *)(req->buf + req->len - sizeof(*t));
            t->status = VIRTIO_IOMMU_S_IOERR;
        }
        if (req->writeback && len == req->len - req->write_offset)
            memcpy((uint8_t *)req->writeback + req->write_offset, req->buf + req->write_offset, len);
        else if (req->writeback && len == 0)
            memcpy((uint8_t *)req->writeback + req->len - sizeof(struct virtio_iommu_req_tail),
                   req->buf + req->len - sizeof(struct virtio_iommu_req_tail), sizeof(struct virtio_iommu_req_tail));
        req->prev->next = req->next;
        req->next->prev = req->prev;
        viommu->nr_inflight--;
        kfree(req);
    }
    return 0;
}

static int __viommu_add_req(struct viommu_dev *viommu, void *buf, size_t len, bool writeback)
{
    struct virtqueue *vq = &viommu->vqs[VIOMMU_REQUEST_VQ];
    if (viommu->broken) return -EIO;
    int write_offset = viommu_get_write_desc_offset(viommu, buf, len);
    if (write_offset <= 0) return -EINVAL;
    struct viommu_request *req = kzalloc(sizeof(*req) + len);
    if (!req) return -ENOMEM;
    req->len = (uint32_t)len;
    req->write_offset = (uint32_t)write_offset;
    req->writeback = writeback ? buf : NULL;
    memcpy(req->buf, buf, (size_t)write_offset);
    struct virtio_sg top = { virt_to_phys(req->buf), (uint32_t)write_offset };
    struct virtio_sg bottom = { virt_to_phys(req->buf + write_offset), (uint32_t)(len - (size_t)write_offset) };
    int ret = virtqueue_add_sgs(vq, &top, 1, &bottom, 1, req);
    if (ret == -ENOSPC) {
        /* The ring is full: complete everything in flight, then try once more. */
        viommu->stats.drains++;
        int s = __viommu_sync_req(viommu);
        ret = s ? s : virtqueue_add_sgs(vq, &top, 1, &bottom, 1, req);
    }
    if (ret) {
        kfree(req);
        return ret;
    }
    req->prev = viommu->requests.prev;
    req->next = &viommu->requests;
    viommu->requests.prev->next = req;
    viommu->requests.prev = req;
    viommu->nr_inflight++;
    viommu_count_req(viommu, ((struct virtio_iommu_req_head *)buf)->type);
    return 0;
}

int viommu_add_req(struct viommu_dev *viommu, void *buf, size_t len)
{
    uint64_t flags = irq_save();
    int ret = __viommu_add_req(viommu, buf, len, false);
    if (ret) printf("viommu: could not add request (%d)\n", ret);
    irq_restore(flags);
    return ret;
}

int viommu_sync_req(struct viommu_dev *viommu)
{
    uint64_t flags = irq_save();
    int ret = __viommu_sync_req(viommu);
    if (ret) printf("viommu: could not sync requests (%d)\n", ret);
    irq_restore(flags);
    return ret;
}

int viommu_send_req_sync(struct viommu_dev *viommu, void *buf, size_t len)
{
    uint64_t flags = irq_save();
    int ret = __viommu_add_req(viommu, buf, len, true);
    if (ret) {
        printf("viommu: could not add request (%d)\n", ret);
        goto out;
    }
    ret = __viommu_sync_req(viommu);
    if (ret) {
        printf("viommu: could not sync requests (%d)\n", ret);
        goto out; /* the request is in flight forever: the driver is broken now */
    }
    ret = viommu_get_req_errno(buf, len);
    if (ret) viommu->stats.req_errors++;
out:
    irq_restore(flags);
    return ret;
}

/* ---- interval tree (sorted disjoint intervals) ------------------------------------------------------------- */

/* Index of the first node with last >= iova (nodes are disjoint, so sorted by last as well as start). */
static uint32_t itree_lower(const struct viommu_interval_tree *t, uint64_t iova)
{
    uint32_t lo = 0, hi = t->count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (t->nodes[mid].last < iova) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int viommu_add_mapping(struct viommu_domain *vdomain, uint64_t iova, uint64_t end, phys_addr_t paddr,
                              uint32_t flags)
{
    struct viommu_interval_tree *t = &vdomain->mappings;
    if (t->count >= VIOMMU_MAX_MAPPINGS) return -ENOMEM;
    uint32_t i = itree_lower(t, iova);
    if (i < t->count && t->nodes[i].start <= end) return -EEXIST;
    memmove(&t->nodes[i + 1], &t->nodes[i], (t->count - i) * sizeof(t->nodes[0]));
    t->nodes[i] = (struct viommu_mapping){ .start = iova, .last = end, .paddr = paddr, .flags = flags };
    t->count++;
    return 0;
}

/* Removes whole mappings inside [iova, end]; stops at a mapping that starts before iova (cannot split it).
 * Returns the total size removed, which may exceed the range (whole nodes). */
static size_t viommu_del_mappings(struct viommu_domain *vdomain, uint64_t iova, uint64_t end)
{
    struct viommu_interval_tree *t = &vdomain->mappings;
    size_t unmapped = 0;
    uint32_t i = itree_lower(t, iova), j = i;
    while (j < t->count && t->nodes[j].start <= end) {
        if (t->nodes[j].start < iova) break;
        unmapped += t->nodes[j].last - t->nodes[j].start + 1;
        j++;
    }
    if (j > i) {
        memmove(&t->nodes[i], &t->nodes[j], (t->count - j) * sizeof(t->nodes[0]));
        t->count -= j - i;
    }
    return unmapped;
}

static int viommu_replay_mappings(struct viommu_domain *vdomain)
{
    for (uint32_t i = 0; i < vdomain->mappings.count; i++) {
        const struct viommu_mapping *m = &vdomain->mappings.nodes[i];
        struct virtio_iommu_req_map map = {
            .head.type = VIRTIO_IOMMU_T_MAP,
            .domain = vdomain->id,
            .virt_start = m->start,
            .virt_end = m->last,
            .phys_start = m->paddr,
            .flags = m->flags,
        };
        int ret = viommu_send_req_sync(vdomain->viommu, &map, sizeof map);
        if (ret) return ret;
    }
    return 0;
}

/* ---- domains --------------------------------------------------------------------------------------------- */

static int ida_alloc_range(struct viommu_dev *viommu)
{
    uint64_t span = (uint64_t)viommu->last_domain - viommu->first_domain + 1;
    if (span > VIOMMU_MAX_DOMAIN_IDS) span = VIOMMU_MAX_DOMAIN_IDS;
    for (uint32_t i = 0; i < span; i++) {
        if (!(viommu->domain_ids[i / 64] >> (i % 64) & 1)) {
            viommu->domain_ids[i / 64] |= 1ull << (i % 64);
            return (int)i;
        }
    }
    return -ENOSPC;
}

struct viommu_domain *viommu_domain_alloc_paging(struct viommu_dev *viommu)
{
    uint64_t granule = viommu->pgsize_bitmap & -viommu->pgsize_bitmap;
    if (granule > PAGE_SIZE) {
        printf("viommu: granule 0x%llx larger than system page size\n", (unsigned long long)granule);
        return NULL;
    }
    struct viommu_domain *vdomain = kzalloc(sizeof *vdomain);
    if (!vdomain) return NULL;
    vdomain->mappings.nodes = page_alloc(ALIGN_UP(VIOMMU_MAX_MAPPINGS * sizeof(struct viommu_mapping), PAGE_SIZE) /
                                         PAGE_SIZE);
    int rel = ida_alloc_range(viommu);
    if (!vdomain->mappings.nodes || rel < 0) {
        kfree(vdomain);
        return NULL;
    }
    vdomain->id = viommu->first_domain + (uint32_t)rel;
    vdomain->viommu = viommu;
    vdomain->map_flags = viommu->map_flags;
    vdomain->domain.type = IOMMU_DOMAIN_UNMANAGED;
    vdomain->domain.ops = viommu_options.sync_map ? &viommu_domain_ops : &viommu_domain_ops_nosyncmap;
    vdomain->domain.pgsize_bitmap = viommu->pgsize_bitmap;
    vdomain->domain.aperture_start = viommu->aperture_start;
    vdomain->domain.aperture_end = viommu->aperture_end;
    return vdomain;
}

/* Identity: with BYPASS_CONFIG a domain that attaches with ATTACH_F_BYPASS; without, a paging domain filled
 * (in the tree only) with identity mappings of the aperture around the endpoint's reserved regions. */
struct viommu_domain *viommu_domain_alloc_identity(struct viommu_dev *viommu, struct viommu_endpoint *vdev)
{
    struct viommu_domain *vdomain = viommu_domain_alloc_paging(viommu);
    if (!vdomain) return NULL;
    vdomain->domain.type = IOMMU_DOMAIN_IDENTITY;
    if (viommu->vdev.features & (1ull << VIRTIO_IOMMU_F_BYPASS_CONFIG)) {
        vdomain->identity = true;
        vdomain->id = viommu->identity_domain_id;
        return vdomain;
    }
    uint64_t granule = viommu->pgsize_bitmap & -viommu->pgsize_bitmap;
    uint64_t start = ALIGN_UP(viommu->aperture_start, granule);
    uint64_t end = viommu->aperture_end; /* inclusive */
    uint64_t cur = start;
    /* resv regions are sorted by start */
    for (uint32_t i = 0; i <= vdev->nr_resv; i++) {
        uint64_t rs = i < vdev->nr_resv ? ALIGN_DOWN(vdev->resv[i].start, granule) : end + 1;
        uint64_t re = i < vdev->nr_resv ? ALIGN_UP(vdev->resv[i].start + vdev->resv[i].length, granule) - 1 : end;
        if (rs > cur && rs != 0) {
            if (viommu_add_mapping(vdomain, cur, rs - 1, cur, VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE))
                break;
        }
        if (re >= end || re + 1 == 0) break;
        cur = re + 1;
    }
    return vdomain;
}

void viommu_domain_free(struct iommu_domain *domain)
{
    struct viommu_domain *vdomain = to_viommu_domain(domain);
    struct viommu_dev *viommu = vdomain->viommu;
    if (!vdomain->identity) {
        uint32_t rel = vdomain->id - viommu->first_domain;
        if (rel < VIOMMU_MAX_DOMAIN_IDS) viommu->domain_ids[rel / 64] &= ~(1ull << (rel % 64));
    }
    page_free(vdomain->mappings.nodes,
              ALIGN_UP(VIOMMU_MAX_MAPPINGS * sizeof(struct viommu_mapping), PAGE_SIZE) / PAGE_SIZE);
    kfree(vdomain);
}

int viommu_attach_dev(struct iommu_domain *domain, struct device *dev)
{
    struct viommu_endpoint *vdev = dev->iommu_priv;
    struct viommu_domain *vdomain = to_viommu_domain(domain);
    if (!vdev || vdomain->viommu != vdev->viommu) return -EINVAL;
    if (vdev->vdomain) vdev->vdomain->nr_endpoints--; /* the device detaches it implicitly */
    struct virtio_iommu_req_attach req = {
        .head.type = VIRTIO_IOMMU_T_ATTACH,
        .domain = vdomain->id,
        .endpoint = vdev->epid,
        .flags = vdomain->identity ? VIRTIO_IOMMU_ATTACH_F_BYPASS : 0,
    };
    int ret = viommu_send_req_sync(vdomain->viommu, &req, sizeof req);
    if (ret) {
        vdev->vdomain = NULL;
        return ret;
    }
    if (vdomain->nr_endpoints == 0 && !vdomain->identity) {
        ret = viommu_replay_mappings(vdomain);
        if (ret) return ret;
    }
    vdomain->nr_endpoints++;
    vdev->vdomain = vdomain;
    return 0;
}

int viommu_detach_dev(struct viommu_endpoint *vdev)
{
    struct viommu_domain *vdomain = vdev->vdomain;
    if (!vdomain) return 0;
    struct virtio_iommu_req_detach req = {
        .head.type = VIRTIO_IOMMU_T_DETACH,
        .domain = vdomain->id,
        .endpoint = vdev->epid,
    };
    int ret = viommu_send_req_sync(vdomain->viommu, &req, sizeof req);
    if (ret) printf("viommu: DETACH of endpoint %u from domain %u failed (%d)\n", vdev->epid, vdomain->id, ret);
    vdomain->nr_endpoints--;
    vdev->vdomain = NULL;
    return ret;
}

/* ---- map / unmap / sync ---------------------------------------------------------------------------------- */

int viommu_map_pages(struct iommu_domain *domain, uint64_t iova, phys_addr_t paddr, size_t pgsize, size_t pgcount,
                     int prot, size_t *mapped)
{
    struct viommu_domain *vdomain = to_viommu_domain(domain);
    size_t size = pgsize * pgcount;
    uint64_t end = iova + size - 1;
    uint32_t flags = (uint32_t)((prot & IOMMU_READ ? VIRTIO_IOMMU_MAP_F_READ : 0) |
                                (prot & IOMMU_WRITE ? VIRTIO_IOMMU_MAP_F_WRITE : 0) |
                                (prot & IOMMU_MMIO ? VIRTIO_IOMMU_MAP_F_MMIO : 0));
    if (flags & ~vdomain->map_flags) return -EINVAL;
    int ret = viommu_add_mapping(vdomain, iova, end, paddr, flags);
    if (ret) return ret;
    if (vdomain->nr_endpoints) {
        struct virtio_iommu_req_map map = {
            .head.type = VIRTIO_IOMMU_T_MAP,
            .domain = vdomain->id,
            .virt_start = iova,
            .virt_end = end,
            .phys_start = paddr,
            .flags = flags,
        };
        /* Before Linux 6.8 (viommu.sync_map=0) MAP was sent synchronously here and its status checked. */
        ret = viommu_options.sync_map ? viommu_add_req(vdomain->viommu, &map, sizeof map)
                                      : viommu_send_req_sync(vdomain->viommu, &map, sizeof map);
        if (ret) {
            viommu_del_mappings(vdomain, iova, end);
            return ret;
        }
    }
    if (mapped) *mapped = size;
    return 0;
}

size_t viommu_unmap_pages(struct iommu_domain *domain, uint64_t iova, size_t pgsize, size_t pgcount,
                          struct iommu_iotlb_gather *gather)
{
    (void)gather;
    struct viommu_domain *vdomain = to_viommu_domain(domain);
    size_t size = pgsize * pgcount;
    size_t unmapped = viommu_del_mappings(vdomain, iova, iova + size - 1);
    if (unmapped < size) return 0;
    if (!vdomain->nr_endpoints) return unmapped; /* the device removed everything at detach */
    struct virtio_iommu_req_unmap unmap = {
        .head.type = VIRTIO_IOMMU_T_UNMAP,
        .domain = vdomain->id,
        .virt_start = iova,
        .virt_end = iova + unmapped - 1,
    };
    int ret = viommu_add_req(vdomain->viommu, &unmap, sizeof unmap);
    return ret ? 0 : unmapped;
}

void viommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather)
{
    (void)gather;
    viommu_sync_req(to_viommu_domain(domain)->viommu);
}

int viommu_iotlb_sync_map(struct iommu_domain *domain, uint64_t iova, size_t size)
{
    (void)iova;
    (void)size;
    struct viommu_domain *vdomain = to_viommu_domain(domain);
    /* May be called before the domain is attached: nothing was sent, nothing to sync. */
    if (!vdomain->nr_endpoints) return 0;
    return viommu_sync_req(vdomain->viommu);
}

void viommu_flush_iotlb_all(struct iommu_domain *domain)
{
    struct viommu_domain *vdomain = to_viommu_domain(domain);
    if (!vdomain->nr_endpoints) return;
    viommu_sync_req(vdomain->viommu);
}

phys_addr_t viommu_iova_to_phys(struct iommu_domain *domain, uint64_t iova)
{
    struct viommu_interval_tree *t = &to_viommu_domain(domain)->mappings;
    uint32_t i = itree_lower(t, iova);
    if (i < t->count && t->nodes[i].start <= iova) return t->nodes[i].paddr + (iova - t->nodes[i].start);
    return 0;
}

bool viommu_capable(struct viommu_dev *viommu, int cap)
{
    (void)viommu;
    return cap == IOMMU_CAP_DEFERRED_FLUSH && viommu_options.deferred_flush;
}

/* Two op tables: the 6.8+ one, and the one before (no iotlb_sync_map; flush_iotlb_all only with deferred flush). */
static const struct iommu_domain_ops viommu_domain_ops = {
    .attach_dev = viommu_attach_dev,
    .map_pages = viommu_map_pages,
    .unmap_pages = viommu_unmap_pages,
    .iotlb_sync_map = viommu_iotlb_sync_map,
    .iotlb_sync = viommu_iotlb_sync,
    .flush_iotlb_all = viommu_flush_iotlb_all,
    .iova_to_phys = viommu_iova_to_phys,
    .free = viommu_domain_free,
};
static const struct iommu_domain_ops viommu_domain_ops_nosyncmap = {
    .attach_dev = viommu_attach_dev,
    .map_pages = viommu_map_pages,
    .unmap_pages = viommu_unmap_pages,
    .iotlb_sync_map = NULL,
    .iotlb_sync = viommu_iotlb_sync,
    .flush_iotlb_all = viommu_flush_iotlb_all,
    .iova_to_phys = viommu_iova_to_phys,
    .free = viommu_domain_free,
};

/* ---- probe of endpoints: reserved regions ---------------------------------------------------------------- */

static void viommu_add_resv_mem(struct viommu_endpoint *vdev, const struct virtio_iommu_probe_resv_mem *mem,
                                size_t len)
{
    if (len < sizeof(*mem) - sizeof(mem->head)) {
        printf("viommu: RESV_MEM property too short (%zu)\n", len);
        return;
    }
    if (mem->end < mem->start || mem->end - mem->start == ~0ull) {
        printf("viommu: bad RESV_MEM [0x%llx, 0x%llx]\n", (unsigned long long)mem->start,
               (unsigned long long)mem->end);
        return;
    }
    if (vdev->nr_resv >= VIOMMU_MAX_RESV) return;
    struct iommu_resv_region r = { .start = mem->start, .length = mem->end - mem->start + 1 };
    if (mem->subtype == VIRTIO_IOMMU_RESV_MEM_T_MSI) r.type = IOMMU_RESV_MSI;
    else {
        if (mem->subtype != VIRTIO_IOMMU_RESV_MEM_T_RESERVED)
            printf("viommu: unknown resv mem subtype 0x%x\n", mem->subtype);
        r.type = IOMMU_RESV_RESERVED;
    }
    uint32_t i = vdev->nr_resv;
    while (i > 0 && vdev->resv[i - 1].start > r.start) {
        vdev->resv[i] = vdev->resv[i - 1];
        i--;
    }
    vdev->resv[i] = r;
    vdev->nr_resv++;
}

static int viommu_probe_endpoint(struct viommu_dev *viommu, struct viommu_endpoint *vdev)
{
    size_t probe_len = sizeof(struct virtio_iommu_req_probe) + viommu->probe_size + sizeof(struct virtio_iommu_req_tail);
    struct virtio_iommu_req_probe *probe = kzalloc(probe_len);
    if (!probe) return -ENOMEM;
    probe->head.type = VIRTIO_IOMMU_T_PROBE;
    probe->endpoint = vdev->epid;
    int ret = viommu_send_req_sync(viommu, probe, probe_len);
    if (ret) goto out;
    size_t cur = 0;
    while (cur + sizeof(struct virtio_iommu_probe_property) <= viommu->probe_size) {
        const struct virtio_iommu_probe_property *prop = (const void *)(probe->properties + cur);
        uint16_t type = prop->type & VIRTIO_IOMMU_PROBE_T_MASK;
        if (type == VIRTIO_IOMMU_PROBE_T_NONE) break;
        size_t len = prop->length;
        if (cur + sizeof(*prop) + len > viommu->probe_size) {
            printf("viommu: probe property overruns the buffer\n");
            break;
        }
        if (type == VIRTIO_IOMMU_PROBE_T_RESV_MEM) viommu_add_resv_mem(vdev, (const void *)prop, len);
        else printf("viommu: unknown viommu prop 0x%x\n", type);
        cur += sizeof(*prop) + len;
    }
out:
    kfree(probe);
    return ret;
}

int viommu_probe_device(struct viommu_dev *viommu, struct device *dev, uint32_t epid, struct viommu_endpoint *vdev)
{
    memset(vdev, 0, sizeof *vdev);
    vdev->dev = dev;
    vdev->viommu = viommu;
    vdev->epid = epid;
    dev->iommu_priv = vdev;
    if (viommu->probe_size) return viommu_probe_endpoint(viommu, vdev);
    return 0;
}

int viommu_get_resv_regions(struct viommu_endpoint *vdev, struct iommu_resv_region *out, int max)
{
    int n = 0;
    bool msi = false;
    for (uint32_t i = 0; i < vdev->nr_resv && n < max; i++) {
        out[n++] = vdev->resv[i];
        if (vdev->resv[i].type == IOMMU_RESV_MSI) msi = true;
    }
    if (!msi && n < max)
        out[n++] = (struct iommu_resv_region){ .start = MSI_IOVA_BASE, .length = MSI_IOVA_LENGTH,
                                               .type = IOMMU_RESV_SW_MSI };
    return n;
}

/* ---- event queue ----------------------------------------------------------------------------------------- */

static void viommu_fault_handler(struct viommu_dev *viommu, const struct virtio_iommu_fault *fault)
{
    static const char *const reasons[] = { "unknown", "domain", "page" };
    const char *reason = fault->reason < 3 ? reasons[fault->reason] : "unknown";
    viommu->stats.faults++;
    viommu->stats.last_fault = *fault;
    if (viommu->stats.faults <= 8) { /* rate limit */
        if (fault->flags & VIRTIO_IOMMU_FAULT_F_ADDRESS)
            printf("viommu: %s fault from EP %u at %#llx [%s%s%s]\n", reason, fault->endpoint,
                   (unsigned long long)fault->address, fault->flags & VIRTIO_IOMMU_FAULT_F_READ ? "R" : "",
                   fault->flags & VIRTIO_IOMMU_FAULT_F_WRITE ? "W" : "",
                   fault->flags & VIRTIO_IOMMU_FAULT_F_EXEC ? "X" : "");
        else
            printf("viommu: %s fault from EP %u\n", reason, fault->endpoint);
    }
}

void viommu_event_handler(struct viommu_dev *viommu)
{
    struct virtqueue *vq = &viommu->vqs[VIOMMU_EVENT_VQ];
    uint64_t flags = irq_save();
    uint32_t len;
    struct viommu_event *evt;
    int guard = 0;
    while (guard++ < VIOMMU_MAX_EVENTS && (evt = virtqueue_get_buf(vq, &len)) != NULL) {
        if (len > sizeof(*evt)) {
            printf("viommu: invalid event buffer (len %u != %zu)\n", len, sizeof(*evt));
            viommu->stats.events_invalid++;
        } else if (!(evt->head & 0xFFFFFF00u)) {
            viommu_fault_handler(viommu, &evt->fault);
        }
        memset(evt, 0, sizeof *evt);
        if (virtqueue_add_inbuf(vq, virt_to_phys(evt), sizeof(*evt), evt))
            printf("viommu: could not add event buffer\n");
    }
    virtqueue_kick(vq);
    irq_restore(flags);
}

static void viommu_event_irq(uint8_t vector, void *ctx)
{
    (void)vector;
    viommu_event_handler(ctx);
}

static int viommu_fill_evtq(struct viommu_dev *viommu)
{
    struct virtqueue *vq = &viommu->vqs[VIOMMU_EVENT_VQ];
    uint32_t n = vq->num_free;
    if (n > VIOMMU_MAX_EVENTS) n = VIOMMU_MAX_EVENTS;
    viommu->evts = kzalloc(n * sizeof(struct viommu_event));
    if (!viommu->evts) return -ENOMEM;
    viommu->nr_evts = n;
    for (uint32_t i = 0; i < n; i++) {
        int ret = virtqueue_add_inbuf(vq, virt_to_phys(&viommu->evts[i]), sizeof(struct viommu_event),
                                      &viommu->evts[i]);
        if (ret) return ret;
    }
    virtqueue_kick(vq);
    return 0;
}

/* ---- device probe ---------------------------------------------------------------------------------------- */

/* Config space offsets (struct virtio_iommu_config). */
#define VIOMMU_CFG_PAGE_SIZE_MASK 0
#define VIOMMU_CFG_INPUT_START 8
#define VIOMMU_CFG_INPUT_END 16
#define VIOMMU_CFG_DOMAIN_START 24
#define VIOMMU_CFG_DOMAIN_END 28
#define VIOMMU_CFG_PROBE_SIZE 32
#define VIOMMU_CFG_BYPASS 36

static int order_base_2(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

int viommu_probe(struct viommu_dev *viommu, uint16_t bdf)
{
    memset(viommu, 0, sizeof *viommu);
    viommu->requests.next = viommu->requests.prev = &viommu->requests;
    int ret = virtio_pci_probe(&viommu->vdev, bdf);
    if (ret) return ret;
    struct virtio_pci_dev *vd = &viommu->vdev;
    virtio_reset(vd);
    virtio_add_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_add_status(vd, VIRTIO_STATUS_DRIVER);
    uint64_t wanted = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_IOMMU_F_MAP_UNMAP) |
                      (1ull << VIRTIO_IOMMU_F_INPUT_RANGE) | (1ull << VIRTIO_IOMMU_F_DOMAIN_RANGE) |
                      (1ull << VIRTIO_IOMMU_F_PROBE) | (1ull << VIRTIO_IOMMU_F_MMIO) |
                      (1ull << VIRTIO_IOMMU_F_BYPASS_CONFIG);
    uint64_t offered = virtio_device_features(vd);
    ret = virtio_negotiate(vd, wanted);
    if (ret) {
        virtio_add_status(vd, VIRTIO_STATUS_FAILED);
        return ret;
    }
    if (!(vd->features & (1ull << VIRTIO_F_VERSION_1)) || !(vd->features & (1ull << VIRTIO_IOMMU_F_MAP_UNMAP))) {
        printf("viommu: device lacks VERSION_1 or MAP_UNMAP (offered 0x%llx)\n", (unsigned long long)offered);
        virtio_add_status(vd, VIRTIO_STATUS_FAILED);
        return -ENODEV;
    }
    if (!vd->device_cfg) return -ENODEV;

    /* Queues: request vq without a callback (no interrupt wanted), event vq on MSI-X vector 0. */
    uint16_t evt_vector = VIRTIO_MSI_NO_VECTOR;
    if (vd->have_msix) {
        msix_set_vector(&vd->msix, 0, msi_address(), msi_data(VIOMMU_EVENT_VECTOR));
        msix_enable(&vd->msix, true);
        evt_vector = 0;
        irq_register(VIOMMU_EVENT_VECTOR, viommu_event_irq, viommu);
    }
    if (virtio_num_queues(vd) < VIOMMU_NR_VQS) return -ENODEV;
    ret = virtio_setup_vq(vd, &viommu->vqs[VIOMMU_REQUEST_VQ], VIOMMU_REQUEST_VQ, VIRTIO_MSI_NO_VECTOR);
    if (!ret) ret = virtio_setup_vq(vd, &viommu->vqs[VIOMMU_EVENT_VQ], VIOMMU_EVENT_VQ, evt_vector);
    if (ret) {
        virtio_add_status(vd, VIRTIO_STATUS_FAILED);
        return ret;
    }
    virtqueue_disable_cb(&viommu->vqs[VIOMMU_REQUEST_VQ]);

    virtio_cfg_read(vd, VIOMMU_CFG_PAGE_SIZE_MASK, &viommu->pgsize_bitmap, 8);
    if (!viommu->pgsize_bitmap) {
        printf("viommu: page_size_mask is 0\n");
        virtio_add_status(vd, VIRTIO_STATUS_FAILED);
        return -EINVAL;
    }
    viommu->aperture_start = 0;
    viommu->aperture_end = ~0ull;
    viommu->first_domain = 0;
    viommu->last_domain = ~0u;
    viommu->map_flags = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
    if (vd->features & (1ull << VIRTIO_IOMMU_F_INPUT_RANGE)) {
        virtio_cfg_read(vd, VIOMMU_CFG_INPUT_START, &viommu->aperture_start, 8);
        virtio_cfg_read(vd, VIOMMU_CFG_INPUT_END, &viommu->aperture_end, 8);
    }
    if (vd->features & (1ull << VIRTIO_IOMMU_F_DOMAIN_RANGE)) {
        virtio_cfg_read(vd, VIOMMU_CFG_DOMAIN_START, &viommu->first_domain, 4);
        virtio_cfg_read(vd, VIOMMU_CFG_DOMAIN_END, &viommu->last_domain, 4);
    }
    if (vd->features & (1ull << VIRTIO_IOMMU_F_PROBE)) virtio_cfg_read(vd, VIOMMU_CFG_PROBE_SIZE, &viommu->probe_size, 4);
    if (viommu->probe_size > 4096) {
        printf("viommu: probe_size %u too large; PROBE disabled\n", viommu->probe_size);
        viommu->probe_size = 0;
    }
    virtio_cfg_read(vd, VIOMMU_CFG_BYPASS, &viommu->config_bypass, 1);
    if (vd->features & (1ull << VIRTIO_IOMMU_F_MMIO)) viommu->map_flags |= VIRTIO_IOMMU_MAP_F_MMIO;
    if (vd->features & (1ull << VIRTIO_IOMMU_F_BYPASS_CONFIG)) {
        viommu->identity_domain_id = viommu->first_domain;
        viommu->first_domain++;
    }
    if (viommu->last_domain < viommu->first_domain) {
        printf("viommu: empty domain range\n");
        return -EINVAL;
    }

    virtio_add_status(vd, VIRTIO_STATUS_DRIVER_OK);
    ret = viommu_fill_evtq(viommu);
    if (ret) return ret;

    printf("viommu: %02x:%02x.%x features offered 0x%llx negotiated 0x%llx\n", bdf >> 8, (bdf >> 3) & 31, bdf & 7,
           (unsigned long long)offered, (unsigned long long)vd->features);
    printf("viommu: input address: %d bits [0x%llx-0x%llx], page mask: %#llx, domains %u-%u, probe_size %u, "
           "bypass %u, queues %u/%u\n",
           order_base_2(viommu->aperture_end), (unsigned long long)viommu->aperture_start,
           (unsigned long long)viommu->aperture_end, (unsigned long long)viommu->pgsize_bitmap,
           viommu->first_domain, viommu->last_domain, viommu->probe_size, viommu->config_bypass,
           viommu->vqs[0].num, viommu->vqs[1].num);
    g_viommu = viommu;
    return 0;
}


int viommu_setup_device(struct viommu_dev *viommu, struct device *dev, uint32_t epid, struct viommu_endpoint *vdev,
                        bool *hw_msi)
{
    int ret = viommu_probe_device(viommu, dev, epid, vdev);
    if (ret) {
        printf("viommu: PROBE of endpoint %u failed (%d)\n", epid, ret);
        return ret;
    }
    struct iommu_resv_region resv[VIOMMU_MAX_RESV + 1];
    int nr = viommu_get_resv_regions(vdev, resv, (int)ARRAY_SIZE(resv));
    bool msi = false;
    for (int i = 0; i < nr; i++) {
        if (resv[i].type == IOMMU_RESV_MSI && resv[i].start <= 0xFEE00000ull &&
            resv[i].start + resv[i].length > 0xFEE00000ull)
            msi = true;
    }
    if (hw_msi) *hw_msi = msi;
    struct viommu_domain *vdomain;
    if (iommu_policy.passthrough) {
        vdomain = viommu_domain_alloc_identity(viommu, vdev);
        if (!vdomain) return -ENOMEM;
        dev->dma_direct = true;
    } else {
        vdomain = viommu_domain_alloc_paging(viommu);
        if (!vdomain) return -ENOMEM;
        vdomain->domain.type = iommu_policy.strict ? IOMMU_DOMAIN_DMA : IOMMU_DOMAIN_DMA_FQ;
        ret = iommu_dma_init_domain(&vdomain->domain, viommu_capable(viommu, IOMMU_CAP_DEFERRED_FLUSH), resv, nr);
        if (ret) return ret;
        dev->dma_direct = false;
    }
    ret = viommu_attach_dev(&vdomain->domain, dev);
    if (ret) {
        printf("viommu: ATTACH of endpoint %u to domain %u failed (%d)\n", epid, vdomain->id, ret);
        return ret;
    }
    dev->domain = &vdomain->domain;
    static const char *const types[] = { "identity", "DMA (strict)", "DMA-FQ (lazy)", "unmanaged" };
    printf("viommu: endpoint %u attached to domain %u, type %s\n", epid, vdomain->id, types[vdomain->domain.type]);
    return 0;
}

void viommu_release_device(struct viommu_endpoint *vdev)
{
    struct viommu_domain *vdomain = vdev->vdomain;
    if (!vdomain) return;
    if (vdomain->domain.cookie) iommu_dma_drain_fq(&vdomain->domain);
    viommu_detach_dev(vdev);
    if (vdomain->domain.cookie) iommu_dma_free_domain(&vdomain->domain);
    if (vdev->dev) vdev->dev->domain = NULL;
    viommu_domain_free(&vdomain->domain);
}
