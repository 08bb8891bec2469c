/*
 * IOMMU core (iommu_map / iommu_map_sg / iommu_unmap / iommu_unmap_fast, iommu_pgsize) and dma-iommu (IOVA
 * allocation with per-size caches, strict unmap or the flush queue, the DMA API). See iommu.h.
 *
 * IOVA space: Linux's allocator is a red-black tree searched top-down from a cached node; here the space below
 * 4 GiB (Linux's first choice for PCI devices, pci_32bit_workaround) is a bitmap searched top-down from a cached
 * position, with the same natural alignment of power-of-two sizes and the same rcache (magazines of 127 PFNs for
 * 1..32 granules, loaded/prev per CPU and a bounded depot). Linux retries above 4 GiB when the low space is
 * exhausted; this allocator fails instead (the images need far less).
 */
#include "iommu.h"
#include "alloc.h"
#include "apic.h"
#include "mmio.h"

struct iommu_policy iommu_policy = { .strict = false, .passthrough = false, .fq_single = false };
struct iommu_stats iommu_stats;

/* ---- core ------------------------------------------------------------------------------------------------ */

static int fls64(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

static size_t iommu_pgsize(struct iommu_domain *domain, uint64_t iova, phys_addr_t paddr, size_t size, size_t *count)
{
    uint64_t addr_merge = iova | paddr;
    uint64_t pgsizes = domain->pgsize_bitmap & (fls64(size) >= 64 ? ~0ull : ((1ull << fls64(size)) - 1));
    if (addr_merge) pgsizes &= ((addr_merge & -addr_merge) << 1) - 1;
    if (!pgsizes) { *count = 0; return 0; }
    int idx = fls64(pgsizes) - 1;
    size_t pgsize = (size_t)1 << idx;
    uint64_t bigger = domain->pgsize_bitmap & ~(((uint64_t)pgsize << 1) - 1);
    if (bigger) {
        uint64_t next = bigger & -bigger;
        if (!((iova ^ paddr) & (next - 1))) {
            uint64_t offset = next - (addr_merge & (next - 1));
            if (offset + next <= size) size = offset;
        }
    }
    *count = size >> idx;
    return pgsize;
}

static size_t __iommu_unmap(struct iommu_domain *domain, uint64_t iova, size_t size, struct iommu_iotlb_gather *gather)
{
    uint64_t min_pg = domain->pgsize_bitmap & -domain->pgsize_bitmap;
    if ((iova | size) & (min_pg - 1)) {
        printf("iommu: unaligned unmap iova 0x%llx size 0x%zx\n", (unsigned long long)iova, size);
        return 0;
    }
    size_t unmapped = 0;
    for (int guard = 0; unmapped < size && guard < 4096; guard++) {
        size_t count;
        size_t pgsize = iommu_pgsize(domain, iova, iova, size - unmapped, &count);
        if (!pgsize) break;
        size_t r = domain->ops->unmap_pages(domain, iova, pgsize, count, gather);
        if (!r) break;
        iova += r;
        unmapped += r;
    }
    return unmapped;
}

size_t iommu_unmap_fast(struct iommu_domain *domain, uint64_t iova, size_t size, struct iommu_iotlb_gather *gather)
{
    iommu_stats.unmap_calls++;
    return __iommu_unmap(domain, iova, size, gather);
}

void iommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather)
{
    iommu_stats.iotlb_sync++;
    if (domain->ops->iotlb_sync) domain->ops->iotlb_sync(domain, gather);
}

size_t iommu_unmap(struct iommu_domain *domain, uint64_t iova, size_t size)
{
    struct iommu_iotlb_gather gather = { 0 };
    size_t r = iommu_unmap_fast(domain, iova, size, &gather);
    iommu_iotlb_sync(domain, &gather);
    return r;
}

int iommu_map_nosync(struct iommu_domain *domain, uint64_t iova, phys_addr_t paddr, size_t size, int prot)
{
    uint64_t min_pg = domain->pgsize_bitmap & -domain->pgsize_bitmap;
    if (!size || ((iova | paddr | size) & (min_pg - 1))) {
        printf("iommu: unaligned map iova 0x%llx pa 0x%llx size 0x%zx (min page 0x%llx)\n", (unsigned long long)iova,
               (unsigned long long)paddr, size, (unsigned long long)min_pg);
        return -EINVAL;
    }
    if (iova < domain->aperture_start || iova + size - 1 > domain->aperture_end) return -EFAULT;
    uint64_t orig_iova = iova;
    size_t done = 0;
    int ret = 0;
    while (done < size) {
        size_t count, mapped = 0;
        size_t pgsize = iommu_pgsize(domain, iova, paddr, size - done, &count);
        if (!pgsize) { ret = -EINVAL; break; }
        ret = domain->ops->map_pages(domain, iova, paddr, pgsize, count, prot, &mapped);
        if (!ret && !mapped) ret = -EINVAL; /* no progress: never loop forever */
        if (ret) break;
        iova += mapped;
        paddr += mapped;
        done += mapped;
    }
    if (ret && done) iommu_unmap(domain, orig_iova, done);
    return ret;
}

int iommu_sync_map(struct iommu_domain *domain, uint64_t iova, size_t size)
{
    if (!domain->ops->iotlb_sync_map) return 0;
    iommu_stats.iotlb_sync_map++;
    return domain->ops->iotlb_sync_map(domain, iova, size);
}

int iommu_map(struct iommu_domain *domain, uint64_t iova, phys_addr_t paddr, size_t size, int prot)
{
    iommu_stats.map_calls++;
    int ret = iommu_map_nosync(domain, iova, paddr, size, prot);
    if (ret) return ret;
    ret = iommu_sync_map(domain, iova, size);
    if (ret) iommu_unmap(domain, iova, size);
    return ret;
}

ssize_t iommu_map_sg(struct iommu_domain *domain, uint64_t iova, struct scatterlist *sg, int nents, int prot)
{
    iommu_stats.map_calls++;
    uint64_t granule = domain->pgsize_bitmap & -domain->pgsize_bitmap;
    size_t mapped = 0, len = 0;
    phys_addr_t start = 0;
    int ret = 0;
    for (int i = 0; i <= nents; i++) {
        phys_addr_t s_phys = 0;
        size_t s_len = 0;
        if (i < nents) {
            s_phys = ALIGN_DOWN(sg[i].phys, granule);
            s_len = ALIGN_UP(sg[i].length + (sg[i].phys - s_phys), granule);
            if (len && start + len == s_phys) { /* physically contiguous: one chunk */
                len += s_len;
                continue;
            }
        }
        if (len) {
            ret = iommu_map_nosync(domain, iova + mapped, start, len, prot);
            if (ret) break;
            mapped += len;
        }
        start = s_phys;
        len = s_len;
    }
    if (!ret) ret = iommu_sync_map(domain, iova, mapped); /* one sync for the whole list */
    if (ret) {
        if (mapped) iommu_unmap(domain, iova, mapped);
        return ret;
    }
    return (ssize_t)mapped;
}

phys_addr_t iommu_iova_to_phys(struct iommu_domain *domain, uint64_t iova)
{
    return domain->ops->iova_to_phys ? domain->ops->iova_to_phys(domain, iova) : 0;
}

/* ---- IOVA allocator -------------------------------------------------------------------------------------- */

#define IOVA_RANGE_CACHE_MAX_SIZE 6 /* caches for 1, 2, 4, 8, 16, 32 granules */
#define IOVA_MAG_SIZE 127
#define IOVA_DEPOT_MAX 16           /* magazines kept per size beyond loaded/prev */
#define IOVA_SPACE_LIMIT (4ull << 30)
#define PCI_HOLE_START 0xB0000000ull
#define PCI_HOLE_END 0xFFFFFFFFull

struct iova_magazine { uint32_t size; uint64_t pfns[IOVA_MAG_SIZE]; };
struct iova_rcache {
    struct iova_magazine loaded, prev;
    uint32_t depot_size;
    struct iova_magazine depot[IOVA_DEPOT_MAX];
};

struct iova_domain {
    uint64_t granule;
    unsigned shift;
    uint64_t start_pfn, end_pfn; /* inclusive range of allocatable pfns */
    uint64_t cached_pfn;         /* the search starts just below this */
    uint64_t *bitmap;            /* bit set = pfn in use (allocated or reserved) */
    uint64_t bitmap_pages;
    struct iova_rcache rcaches[IOVA_RANGE_CACHE_MAX_SIZE];
};

static bool iova_bit(struct iova_domain *d, uint64_t pfn) { return (d->bitmap[pfn / 64] >> (pfn % 64)) & 1; }
static void iova_set(struct iova_domain *d, uint64_t pfn, uint64_t n, bool v)
{
    for (uint64_t p = pfn; p < pfn + n; p++) {
        if (v) d->bitmap[p / 64] |= 1ull << (p % 64);
        else d->bitmap[p / 64] &= ~(1ull << (p % 64));
    }
}
static bool iova_range_free(struct iova_domain *d, uint64_t pfn, uint64_t n)
{
    for (uint64_t p = pfn; p < pfn + n; p++) {
        if (!(p % 64) && p + 64 <= pfn + n) {
            if (d->bitmap[p / 64]) return false;
            p += 63;
            continue;
        }
        if (iova_bit(d, p)) return false;
    }
    return true;
}

static int init_iova_domain(struct iova_domain *d, uint64_t granule, uint64_t aperture_start, uint64_t aperture_end)
{
    memset(d, 0, sizeof *d);
    d->granule = granule;
    d->shift = (unsigned)__builtin_ctzll(granule);
    uint64_t limit = aperture_end < IOVA_SPACE_LIMIT - 1 ? aperture_end : IOVA_SPACE_LIMIT - 1;
    d->start_pfn = aperture_start >> d->shift;
    if (d->start_pfn < 1) d->start_pfn = 1; /* IOVA 0 is never handed out */
    d->end_pfn = limit >> d->shift;
    if (d->end_pfn < d->start_pfn) return -EINVAL;
    uint64_t bits = d->end_pfn + 1;
    d->bitmap_pages = ALIGN_UP((bits + 63) / 64 * 8, PAGE_SIZE) / PAGE_SIZE;
    d->bitmap = page_alloc(d->bitmap_pages);
    if (!d->bitmap) return -ENOMEM;
    d->cached_pfn = d->end_pfn + 1;
    return 0;
}

static void reserve_iova(struct iova_domain *d, uint64_t start, uint64_t last)
{
    uint64_t lo = start >> d->shift, hi = last >> d->shift;
    if (lo > d->end_pfn) return;
    if (hi > d->end_pfn) hi = d->end_pfn;
    iova_set(d, lo, hi - lo + 1, true);
}

static uint64_t alloc_iova(struct iova_domain *d, uint64_t size)
{
    uint64_t align = 1;
    while (align < size) align <<= 1; /* natural alignment to roundup_pow_of_two(size) */
    for (int pass = 0; pass < 2; pass++) {
        uint64_t top = pass == 0 ? d->cached_pfn : d->end_pfn + 1;
        if (top > d->end_pfn + 1) top = d->end_pfn + 1;
        if (top < size) continue;
        uint64_t cand = ALIGN_DOWN(top - size, align);
        while (cand >= d->start_pfn && cand + size <= top) {
            if (iova_range_free(d, cand, size)) {
                iova_set(d, cand, size, true);
                d->cached_pfn = cand;
                return cand;
            }
            if (cand < align) break;
            cand -= align;
        }
    }
    return 0;
}

static void free_iova(struct iova_domain *d, uint64_t pfn, uint64_t size)
{
    iova_set(d, pfn, size, false);
    if (pfn + size > d->cached_pfn) d->cached_pfn = pfn + size; /* as __cached_rbnode_delete_update */
}

static int order_of(uint64_t size)
{
    int o = 0;
    while ((1ull << o) < size) o++;
    return o;
}

static uint64_t alloc_iova_fast(struct iova_domain *d, uint64_t size)
{
    if (size < (1u << (IOVA_RANGE_CACHE_MAX_SIZE - 1))) size = 1ull << order_of(size);
    int o = order_of(size);
    iommu_stats.iova_alloc++;
    if (o < IOVA_RANGE_CACHE_MAX_SIZE && (1ull << o) == size) {
        struct iova_rcache *rc = &d->rcaches[o];
        if (!rc->loaded.size && rc->prev.size) {
            struct iova_magazine t = rc->loaded;
            rc->loaded = rc->prev;
            rc->prev = t;
        } else if (!rc->loaded.size && rc->depot_size) {
            rc->loaded = rc->depot[--rc->depot_size];
        }
        if (rc->loaded.size) {
            iommu_stats.iova_rcache_hits++;
            return rc->loaded.pfns[--rc->loaded.size];
        }
    }
    return alloc_iova(d, size);
}

static void free_iova_fast(struct iova_domain *d, uint64_t pfn, uint64_t size)
{
    if (size < (1u << (IOVA_RANGE_CACHE_MAX_SIZE - 1))) size = 1ull << order_of(size);
    int o = order_of(size);
    iommu_stats.iova_free++;
    if (o < IOVA_RANGE_CACHE_MAX_SIZE && (1ull << o) == size) {
        struct iova_rcache *rc = &d->rcaches[o];
        if (rc->loaded.size == IOVA_MAG_SIZE) {
            if (rc->prev.size < IOVA_MAG_SIZE) {
                struct iova_magazine t = rc->loaded;
                rc->loaded = rc->prev;
                rc->prev = t;
            } else if (rc->depot_size < IOVA_DEPOT_MAX) {
                rc->depot[rc->depot_size++] = rc->loaded;
                rc->loaded.size = 0;
            } else {
                for (uint32_t i = 0; i < rc->loaded.size; i++) free_iova(d, rc->loaded.pfns[i], size);
                rc->loaded.size = 0;
            }
        }
        rc->loaded.pfns[rc->loaded.size++] = pfn;
        return;
    }
    free_iova(d, pfn, size);
}

/* ---- flush queue ----------------------------------------------------------------------------------------- */

#define IOVA_DEFAULT_FQ_SIZE 256
#define IOVA_SINGLE_FQ_SIZE 32768
#define IOVA_DEFAULT_FQ_TIMEOUT 10   /* ms */
#define IOVA_SINGLE_FQ_TIMEOUT 1000  /* ms */

enum iommu_dma_queue_type { IOMMU_DMA_OPTS_PER_CPU_QUEUE, IOMMU_DMA_OPTS_SINGLE_QUEUE };
struct iommu_dma_options { enum iommu_dma_queue_type qt; size_t fq_size; unsigned fq_timeout; };

struct iova_fq_entry { uint64_t iova_pfn, pages, counter; };
struct iova_fq { uint32_t head, tail, mod_mask; struct iova_fq_entry *entries; };

struct iommu_dma_cookie {
    struct iova_domain iovad;
    struct iommu_dma_options options;
    struct iova_fq fq; /* one CPU: the per-CPU queue of CPU 0, or the single queue */
    uint64_t fq_flush_start_cnt, fq_flush_finish_cnt;
    bool fq_timer_on;
    struct iommu_domain *fq_domain; /* non-NULL: lazy (DMA_FQ) */
    uint64_t msi_iova;              /* software MSI page, if mapped */
    phys_addr_t msi_phys;
};

static struct iommu_domain *g_fq_timer_domain; /* the domain whose timer is armed on the APIC timer */

static bool fq_full(const struct iova_fq *fq) { return ((fq->tail + 1) & fq->mod_mask) == fq->head; }

static void fq_ring_free_locked(struct iommu_dma_cookie *cookie, struct iova_fq *fq)
{
    uint64_t counter = cookie->fq_flush_finish_cnt;
    while (fq->head != fq->tail) {
        struct iova_fq_entry *e = &fq->entries[fq->head];
        if (e->counter >= counter) break;
        free_iova_fast(&cookie->iovad, e->iova_pfn, e->pages);
        iommu_stats.fq_freed++;
        fq->head = (fq->head + 1) & fq->mod_mask;
    }
}

static void fq_flush_iotlb(struct iommu_dma_cookie *cookie)
{
    cookie->fq_flush_start_cnt++;
    iommu_stats.flush_iotlb_all++;
    cookie->fq_domain->ops->flush_iotlb_all(cookie->fq_domain);
    cookie->fq_flush_finish_cnt++;
}

static void fq_flush_timeout(struct iommu_dma_cookie *cookie)
{
    cookie->fq_timer_on = false;
    iommu_stats.fq_timer_fires++;
    fq_flush_iotlb(cookie);
    fq_ring_free_locked(cookie, &cookie->fq);
}

void iommu_dma_timer_irq(void)
{
    if (g_fq_timer_domain && g_fq_timer_domain->cookie && g_fq_timer_domain->cookie->fq_domain)
        fq_flush_timeout(g_fq_timer_domain->cookie);
}

static void apic_timer_irq(uint8_t vector, void *ctx)
{
    (void)vector;
    (void)ctx;
    iommu_dma_timer_irq();
}

static void queue_iova(struct iommu_dma_cookie *cookie, uint64_t pfn, uint64_t pages)
{
    uint64_t flags = irq_save();
    struct iova_fq *fq = &cookie->fq;
    fq_ring_free_locked(cookie, fq);
    if (fq_full(fq)) {
        iommu_stats.fq_full_flushes++;
        fq_flush_iotlb(cookie);
        fq_ring_free_locked(cookie, fq);
    }
    fq->entries[fq->tail] = (struct iova_fq_entry){ .iova_pfn = pfn, .pages = pages,
                                                    .counter = cookie->fq_flush_start_cnt };
    fq->tail = (fq->tail + 1) & fq->mod_mask;
    iommu_stats.fq_queued++;
    if (!cookie->fq_timer_on) { /* armed by the first queue after it last fired; never pushed back */
        cookie->fq_timer_on = true;
        g_fq_timer_domain = cookie->fq_domain;
        apic_timer_oneshot_ns((uint64_t)cookie->options.fq_timeout * 1000000ull);
    }
    irq_restore(flags);
}

void iommu_dma_drain_fq(struct iommu_domain *domain)
{
    struct iommu_dma_cookie *cookie = domain->cookie;
    if (!cookie || !cookie->fq_domain) return;
    uint64_t flags = irq_save();
    fq_flush_iotlb(cookie);
    fq_ring_free_locked(cookie, &cookie->fq);
    irq_restore(flags);
}

uint64_t iommu_dma_fq_pending(struct iommu_domain *domain)
{
    struct iommu_dma_cookie *cookie = domain->cookie;
    if (!cookie || !cookie->fq_domain) return 0;
    return (cookie->fq.tail - cookie->fq.head) & cookie->fq.mod_mask;
}

static int iommu_dma_init_fq(struct iommu_domain *domain)
{
    struct iommu_dma_cookie *cookie = domain->cookie;
    size_t bytes = cookie->options.fq_size * sizeof(struct iova_fq_entry);
    cookie->fq.entries = page_alloc(ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE);
    if (!cookie->fq.entries) return -ENOMEM;
    cookie->fq.head = cookie->fq.tail = 0;
    cookie->fq.mod_mask = (uint32_t)(cookie->options.fq_size - 1);
    cookie->fq_flush_start_cnt = cookie->fq_flush_finish_cnt = 0;
    cookie->fq_timer_on = false;
    irq_register(APIC_TIMER_VECTOR, apic_timer_irq, NULL);
    cookie->fq_domain = domain;
    return 0;
}

int iommu_dma_init_domain(struct iommu_domain *domain, bool deferred_flush_cap,
                          const struct iommu_resv_region *resv, int nr_resv)
{
    struct iommu_dma_cookie *cookie = page_alloc(ALIGN_UP(sizeof *cookie, PAGE_SIZE) / PAGE_SIZE);
    if (!cookie) return -ENOMEM;
    domain->cookie = cookie;
    uint64_t granule = domain->pgsize_bitmap & -domain->pgsize_bitmap;
    int ret = init_iova_domain(&cookie->iovad, granule, domain->aperture_start, domain->aperture_end);
    if (ret) return ret;
    /* iova_reserve_pci_windows: IOVAs that alias the PCI hole (ECAM, BARs, APIC/MSI, firmware) are never used.
     * Without ACPI _CRS the hole is the platform's: 0xB0000000 up to 4 GiB. (It matters on QEMU too: hw/nvme
     * refuses a DMA whose *IOVA* falls inside its own BAR0, with Data Transfer Error.) */
    reserve_iova(&cookie->iovad, PCI_HOLE_START, PCI_HOLE_END);
    for (int i = 0; i < nr_resv; i++) {
        if (resv[i].type == IOMMU_RESV_SW_MSI) continue;
        reserve_iova(&cookie->iovad, resv[i].start, resv[i].start + resv[i].length - 1);
    }
    /* iommu_dma_init_options: shadow_on_flush (iommu.fq=single) picks the single queue. */
    if (iommu_policy.fq_single)
        cookie->options = (struct iommu_dma_options){ IOMMU_DMA_OPTS_SINGLE_QUEUE, IOVA_SINGLE_FQ_SIZE,
                                                      IOVA_SINGLE_FQ_TIMEOUT };
    else
        cookie->options = (struct iommu_dma_options){ IOMMU_DMA_OPTS_PER_CPU_QUEUE, IOVA_DEFAULT_FQ_SIZE,
                                                      IOVA_DEFAULT_FQ_TIMEOUT };
    if (domain->type == IOMMU_DOMAIN_DMA_FQ &&
        (!deferred_flush_cap || !domain->ops->flush_iotlb_all || iommu_dma_init_fq(domain)))
        domain->type = IOMMU_DOMAIN_DMA; /* falls back to strict */
    return 0;
}

void iommu_dma_free_domain(struct iommu_domain *domain)
{
    struct iommu_dma_cookie *cookie = domain->cookie;
    if (!cookie) return;
    if (cookie->fq_domain) {
        iommu_dma_drain_fq(domain);
        if (g_fq_timer_domain == domain) {
            apic_timer_stop();
            g_fq_timer_domain = NULL;
        }
        page_free(cookie->fq.entries,
                  ALIGN_UP(cookie->options.fq_size * sizeof(struct iova_fq_entry), PAGE_SIZE) / PAGE_SIZE);
    }
    page_free(cookie->iovad.bitmap, cookie->iovad.bitmap_pages);
    page_free(cookie, ALIGN_UP(sizeof *cookie, PAGE_SIZE) / PAGE_SIZE);
    domain->cookie = NULL;
}

/* ---- DMA API --------------------------------------------------------------------------------------------- */

static int dma_info_to_prot(enum dma_data_direction dir)
{
    switch (dir) {
    case DMA_TO_DEVICE: return IOMMU_READ;
    case DMA_FROM_DEVICE: return IOMMU_WRITE;
    default: return IOMMU_READ | IOMMU_WRITE;
    }
}

static dma_addr_t __iommu_dma_map(struct device *dev, phys_addr_t phys, size_t size, int prot)
{
    struct iommu_domain *domain = dev->domain;
    struct iommu_dma_cookie *cookie = domain->cookie;
    struct iova_domain *iovad = &cookie->iovad;
    uint64_t off = phys & (iovad->granule - 1);
    size = ALIGN_UP(size + off, iovad->granule);
    uint64_t pages = size >> iovad->shift;
    uint64_t pfn = alloc_iova_fast(iovad, pages);
    if (!pfn) {
        printf("dma: IOVA space exhausted (%llu pages)\n", (unsigned long long)pages);
        return DMA_MAPPING_ERROR;
    }
    uint64_t iova = pfn << iovad->shift;
    if (iommu_map(domain, iova, phys - off, size, prot)) {
        free_iova_fast(iovad, pfn, pages);
        return DMA_MAPPING_ERROR;
    }
    return iova + off;
}

static void iommu_dma_free_iova(struct iommu_dma_cookie *cookie, uint64_t iova, size_t size,
                                struct iommu_iotlb_gather *gather)
{
    struct iova_domain *iovad = &cookie->iovad;
    uint64_t pages = size >> iovad->shift;
    if (gather && gather->queued) queue_iova(cookie, iova >> iovad->shift, pages);
    else free_iova_fast(iovad, iova >> iovad->shift, pages);
}

static void __iommu_dma_unmap(struct device *dev, dma_addr_t dma_addr, size_t size)
{
    struct iommu_domain *domain = dev->domain;
    struct iommu_dma_cookie *cookie = domain->cookie;
    struct iova_domain *iovad = &cookie->iovad;
    uint64_t off = dma_addr & (iovad->granule - 1);
    dma_addr -= off;
    size = ALIGN_UP(size + off, iovad->granule);
    struct iommu_iotlb_gather gather = { .queued = cookie->fq_domain != NULL };
    size_t unmapped = iommu_unmap_fast(domain, dma_addr, size, &gather);
    if (unmapped != size)
        printf("dma: unmap of 0x%llx+0x%zx removed 0x%zx\n", (unsigned long long)dma_addr, size, unmapped);
    if (!gather.queued) iommu_iotlb_sync(domain, &gather);
    iommu_dma_free_iova(cookie, dma_addr, size, &gather);
}

dma_addr_t dma_map_page(struct device *dev, phys_addr_t phys, size_t size, enum dma_data_direction dir)
{
    if (dev->dma_direct || !dev->domain) return phys;
    return __iommu_dma_map(dev, phys, size, dma_info_to_prot(dir));
}

void dma_unmap_page(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir)
{
    (void)dir;
    if (dev->dma_direct || !dev->domain) return;
    __iommu_dma_unmap(dev, addr, size);
}

int dma_map_sg(struct device *dev, struct scatterlist *sg, int nents, enum dma_data_direction dir)
{
    if (nents <= 0) return 0;
    if (dev->dma_direct || !dev->domain) {
        for (int i = 0; i < nents; i++) {
            sg[i].dma_address = sg[i].phys;
            sg[i].dma_length = sg[i].length;
        }
        return nents;
    }
    struct iommu_domain *domain = dev->domain;
    struct iova_domain *iovad = &domain->cookie->iovad;
    /* Lay the segments out in one IOVA allocation, each granule aligned (offsets kept). */
    size_t total = 0;
    for (int i = 0; i < nents; i++) {
        uint64_t off = sg[i].phys & (iovad->granule - 1);
        total += ALIGN_UP(sg[i].length + off, iovad->granule);
    }
    uint64_t pages = total >> iovad->shift;
    uint64_t pfn = alloc_iova_fast(iovad, pages);
    if (!pfn) return 0;
    uint64_t iova = pfn << iovad->shift;
    ssize_t mapped = iommu_map_sg(domain, iova, sg, nents, dma_info_to_prot(dir));
    if (mapped < (ssize_t)total) {
        if (mapped > 0) iommu_unmap(domain, iova, (size_t)mapped);
        free_iova_fast(iovad, pfn, pages);
        return 0;
    }
    /* __finalise_sg: give each segment its address, merging those contiguous in IOVA space. */
    size_t cur = 0;
    int out = 0;
    for (int i = 0; i < nents; i++) {
        uint64_t off = sg[i].phys & (iovad->granule - 1);
        dma_addr_t a = iova + cur + off;
        if (out > 0 && sg[out - 1].dma_address + sg[out - 1].dma_length == a && !off) {
            sg[out - 1].dma_length += sg[i].length;
        } else {
            sg[out].dma_address = a;
            sg[out].dma_length = sg[i].length;
            out++;
        }
        cur += ALIGN_UP(sg[i].length + off, iovad->granule);
    }
    for (int i = out; i < nents; i++) {
        sg[i].dma_address = DMA_MAPPING_ERROR;
        sg[i].dma_length = 0;
    }
    return out;
}

void dma_unmap_sg(struct device *dev, struct scatterlist *sg, int nents, enum dma_data_direction dir)
{
    (void)dir;
    if (dev->dma_direct || !dev->domain || nents <= 0) return;
    struct iova_domain *iovad = &dev->domain->cookie->iovad;
    /* The whole IOVA span: from the first segment's start to the end of the last mapped one. */
    dma_addr_t start = ALIGN_DOWN(sg[0].dma_address, iovad->granule), end = 0;
    for (int i = 0; i < nents && sg[i].dma_length; i++) end = sg[i].dma_address + sg[i].dma_length;
    __iommu_dma_unmap(dev, start, ALIGN_UP(end, iovad->granule) - start);
}

void *dma_alloc_coherent(struct device *dev, size_t size, dma_addr_t *handle)
{
    size = ALIGN_UP(size, PAGE_SIZE);
    void *p = page_alloc(size / PAGE_SIZE);
    if (!p) return NULL;
    dma_addr_t a = dma_map_page(dev, virt_to_phys(p), size, DMA_BIDIRECTIONAL);
    if (a == DMA_MAPPING_ERROR) {
        page_free(p, size / PAGE_SIZE);
        return NULL;
    }
    *handle = a;
    return p;
}

void dma_free_coherent(struct device *dev, size_t size, void *cpu_addr, dma_addr_t handle)
{
    size = ALIGN_UP(size, PAGE_SIZE);
    dma_unmap_page(dev, handle, size, DMA_BIDIRECTIONAL);
    page_free(cpu_addr, size / PAGE_SIZE);
}

/* iommu_dma_get_msi_page + compose: the MSI doorbell address a device behind the IOMMU must use. With a hardware
 * MSI region (RESV_MEM MSI: the device bypasses it) the doorbell is used as is; otherwise (IOMMU_RESV_SW_MSI) the
 * doorbell page gets an IOVA mapped WRITE|MMIO, and the device writes there. */
uint64_t iommu_dma_compose_msi_address(struct device *dev, uint64_t msi_addr, bool hw_msi_region)
{
    if (dev->dma_direct || !dev->domain || hw_msi_region) return msi_addr;
    struct iommu_dma_cookie *cookie = dev->domain->cookie;
    if (!cookie) return msi_addr;
    struct iova_domain *iovad = &cookie->iovad;
    phys_addr_t page = ALIGN_DOWN(msi_addr, iovad->granule);
    if (!cookie->msi_iova || cookie->msi_phys != page) {
        uint64_t pfn = alloc_iova_fast(iovad, 1);
        if (!pfn) return msi_addr;
        if (iommu_map(dev->domain, pfn << iovad->shift, page, iovad->granule, IOMMU_WRITE | IOMMU_MMIO)) {
            printf("dma: could not map the MSI doorbell 0x%llx (no F_MMIO?); using it untranslated\n",
                   (unsigned long long)page);
            free_iova_fast(iovad, pfn, 1);
            return msi_addr;
        }
        cookie->msi_iova = pfn << iovad->shift;
        cookie->msi_phys = page;
    }
    return cookie->msi_iova + (msi_addr - page);
}
