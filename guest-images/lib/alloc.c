#include "alloc.h"
#include "mmio.h"

/* Bitmap of at most 256 MiB of heap: 65536 pages, 8 KiB of bits. Bounded by design (the images need < 64 MiB). */
#define HEAP_MAX_PAGES 65536u

extern char __image_end[];

static uint64_t g_heap_base;
static uint32_t g_heap_pages;
static uint32_t g_free_pages;
static uint32_t g_next_fit;
static uint64_t g_bitmap[HEAP_MAX_PAGES / 64];

static bool page_used(uint32_t i) { return (g_bitmap[i / 64] >> (i % 64)) & 1; }
static void page_set(uint32_t i, bool used)
{
    if (used) g_bitmap[i / 64] |= 1ull << (i % 64);
    else g_bitmap[i / 64] &= ~(1ull << (i % 64));
}

void alloc_init(const struct boot_info *bi, uint64_t max_bytes)
{
    /* The largest RAM range below 4 GiB after the image (2 MiB aligned): a firmware's image is reported reserved
     * in the map and splits the low RAM, so the first range is not necessarily the best. */
    uint64_t floor = ALIGN_UP((uint64_t)(uintptr_t)__image_end, 2u << 20);
    uint64_t best_start = 0, best_len = 0;
    if (boot_info_valid(bi) && bi->mmap) {
        const struct mmap_entry *map = (const struct mmap_entry *)(uintptr_t)bi->mmap;
        for (uint32_t i = 0; i < bi->mmap_count && i < 256; i++) {
            if (map[i].type != MMAP_TYPE_RAM) continue;
            uint64_t b = ALIGN_UP(MAX(map[i].base, floor), PAGE_SIZE);
            uint64_t e = MIN(map[i].base + map[i].length, 4ull << 30);
            if (e > b && e - b > best_len) {
                best_start = b;
                best_len = e - b;
            }
        }
    }
    if (!best_len) { /* no usable map: assume 32 MiB after the image */
        best_start = floor;
        best_len = 32u << 20;
    }
    if (best_len > max_bytes) best_len = max_bytes;
    if (best_len > (uint64_t)HEAP_MAX_PAGES * PAGE_SIZE) best_len = (uint64_t)HEAP_MAX_PAGES * PAGE_SIZE;
    g_heap_base = best_start;
    g_heap_pages = (uint32_t)(best_len / PAGE_SIZE);
    g_free_pages = g_heap_pages;
    g_next_fit = 0;
    memset(g_bitmap, 0, sizeof g_bitmap);
}

uint64_t heap_start(void) { return g_heap_base; }
uint64_t heap_end(void) { return g_heap_base + (uint64_t)g_heap_pages * PAGE_SIZE; }
size_t page_free_count(void) { return g_free_pages; }

static void *page_alloc_from(uint32_t from, size_t npages)
{
    uint32_t run = 0;
    for (uint32_t i = from; i < g_heap_pages; i++) {
        if (page_used(i)) { run = 0; continue; }
        if (++run == npages) {
            uint32_t first = i + 1 - (uint32_t)npages;
            for (uint32_t j = first; j <= i; j++) page_set(j, true);
            g_free_pages -= (uint32_t)npages;
            g_next_fit = i + 1;
            void *p = (void *)(uintptr_t)(g_heap_base + (uint64_t)first * PAGE_SIZE);
            memset(p, 0, npages * PAGE_SIZE);
            return p;
        }
    }
    return NULL;
}

void *page_alloc(size_t npages)
{
    if (npages == 0 || npages > g_free_pages) return NULL;
    uint64_t f = irq_save();
    void *p = page_alloc_from(g_next_fit, npages);
    if (!p) p = page_alloc_from(0, npages);
    irq_restore(f);
    return p;
}

void page_free(void *p, size_t npages)
{
    if (!p) return;
    uint64_t a = (uint64_t)(uintptr_t)p;
    if (a < g_heap_base || (a & (PAGE_SIZE - 1))) return;
    uint64_t first = (a - g_heap_base) / PAGE_SIZE;
    if (first + npages > g_heap_pages) return;
    uint64_t f = irq_save();
    for (uint64_t j = first; j < first + npages; j++) {
        if (page_used((uint32_t)j)) { page_set((uint32_t)j, false); g_free_pages++; }
    }
    irq_restore(f);
}

/* Small objects: slots of 32 B .. 2 KiB including a 16-byte header (class or page count); larger: page runs. */
#define NR_CLASSES 8
struct obj_hdr {
    uint32_t magic;
    uint32_t cls;      /* class index, or 0xFFFFFFFF for a page run */
    uint64_t npages;
};
#define OBJ_MAGIC 0x4B4D4C43u
struct free_obj { struct free_obj *next; };
static struct free_obj *g_free_list[NR_CLASSES];

void *kmalloc(size_t size)
{
    size_t need = size + sizeof(struct obj_hdr);
    uint64_t f = irq_save();
    void *ret = NULL;
    for (uint32_t c = 0; c < NR_CLASSES; c++) {
        size_t csz = (size_t)16 << (c + 1); /* 32 .. 4096 with the header */
        if (need > csz || csz > 2048) continue;
        if (!g_free_list[c]) {
            uint8_t *pg = page_alloc(1);
            if (!pg) break;
            for (size_t off = 0; off + csz <= PAGE_SIZE; off += csz) {
                struct free_obj *o = (struct free_obj *)(pg + off);
                o->next = g_free_list[c];
                g_free_list[c] = o;
            }
        }
        struct obj_hdr *h = (struct obj_hdr *)g_free_list[c];
        g_free_list[c] = g_free_list[c]->next;
        h->magic = OBJ_MAGIC;
        h->cls = c;
        h->npages = 0;
        ret = h + 1;
        break;
    }
    if (!ret && need > 2048) {
        size_t np = (need + PAGE_SIZE - 1) / PAGE_SIZE;
        struct obj_hdr *h = page_alloc(np);
        if (h) {
            h->magic = OBJ_MAGIC;
            h->cls = 0xFFFFFFFFu;
            h->npages = np;
            ret = h + 1;
        }
    }
    irq_restore(f);
    return ret;
}

void *kzalloc(size_t size)
{
    void *p = kmalloc(size);
    if (p) memset(p, 0, size);
    return p;
}

void kfree(void *p)
{
    if (!p) return;
    struct obj_hdr *h = (struct obj_hdr *)p - 1;
    if (h->magic != OBJ_MAGIC) return; /* not ours: leak rather than corrupt */
    h->magic = 0;
    uint64_t f = irq_save();
    if (h->cls == 0xFFFFFFFFu) {
        page_free(h, h->npages);
    } else if (h->cls < NR_CLASSES) {
        struct free_obj *o = (struct free_obj *)h;
        o->next = g_free_list[h->cls];
        g_free_list[h->cls] = o;
    }
    irq_restore(f);
}
