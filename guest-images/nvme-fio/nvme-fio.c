/*
 * nvme-fio: a fio-like workload on the NVMe controller, every DMA mapped through the virtio-iommu driver and
 * dma-iommu (the synthetic guest DMA driver of ARCHITECTURE §5). Switches (besides the common iommu.* / viommu.* /
 * nvme.poll): fio.rw=read|write|randread|randwrite|randrw, fio.bs, fio.iodepth, fio.ios or fio.runtime_ms
 * (virtual), fio.verify=1, fio.size_mb, fio.rwmixread, fio.seed, fio.stale=N. Prints IOPS, bandwidth and latency
 * mean/p50/p99/max in virtual time, and the IOMMU counters (also per I/O). Debug-exit 0 only if every check passed.
 * fio.stale=N adds, after the workload, N use-after-unmap probes (the security side of lazy mode, issue 7): the
 * NVMe plays a device that kept an IOVA after the driver unmapped it, and the line "stale: ..." reports how many
 * of its accesses still reached memory and for how long (virtual time).
 */
#include "../lib/stack.h"

static const char *const rw_choices[] = { "read", "write", "randread", "randwrite", "randrw", NULL };
enum { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE, RW_RANDRW };

#define MAX_LAT_SAMPLES 100000u
#define MAX_IODEPTH 256u

static struct stack g_stack;
static int g_rw = RW_RANDREAD;
static uint64_t g_bs = 4096, g_iodepth = 32, g_ios = 0, g_runtime_ms = 0, g_size_mb = 32, g_rwmixread = 50,
                g_seed = 0x5EED;
static bool g_verify;

struct slot {
    uint8_t *buf;
    uint64_t block;
    bool write;
    bool busy;
    uint32_t gen;
};
static struct slot g_slots[MAX_IODEPTH];
static uint32_t *g_gen;       /* per block: generation last written (0 = never) */
static uint8_t *g_inflight;   /* per block: an I/O is in flight */
static uint64_t g_nblocks;
static uint32_t *g_lat;       /* ns, one per completed I/O (first MAX_LAT_SAMPLES) */
static uint64_t g_nlat, g_lat_sum, g_lat_max;
static uint64_t g_done, g_errors, g_mismatches, g_verified, g_bytes;
static uint64_t g_rng;
static bool g_record = true;
static uint64_t g_stale;

/* Use-after-unmap probes: accesses back to back before the device idles until the next event (interrupt). */
#define STALE_BURST 8u
/* Bounds of one probe: accesses, and virtual time (the single flush queue's timeout is 1 s). */
#define STALE_MAX_ACCESSES 1024u
#define STALE_MAX_NS 3000000000ull
#define MAX_STALE_PROBES 64u

static uint64_t rng_next(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t pattern_word(uint64_t block, uint32_t gen, uint64_t i)
{
    uint64_t x = (block << 20) ^ ((uint64_t)gen << 44) ^ i ^ g_seed;
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    return x;
}

static void fill_pattern(uint8_t *buf, uint64_t block, uint32_t gen)
{
    uint64_t *w = (uint64_t *)buf;
    for (uint64_t i = 0; i < g_bs / 8; i++) w[i] = pattern_word(block, gen, i);
}

static bool check_pattern(const uint8_t *buf, uint64_t block, uint32_t gen)
{
    const uint64_t *w = (const uint64_t *)buf;
    for (uint64_t i = 0; i < g_bs / 8; i++) {
        if (w[i] != pattern_word(block, gen, i)) {
            if (g_mismatches < 4)
                printf("fio: verify mismatch at block %llu word %llu: 0x%llx != 0x%llx (gen %u)\n",
                       (unsigned long long)block, (unsigned long long)i, (unsigned long long)w[i],
                       (unsigned long long)pattern_word(block, gen, i), gen);
            return false;
        }
    }
    return true;
}

static void io_done(struct nvme_ctrl *ctrl, struct nvme_request *r)
{
    struct slot *s = r->ctx;
    uint64_t lat = vtime_ns() - r->t_submit;
    if (r->status) {
        if (g_errors < 4)
            printf("fio: %s of block %llu failed: SCT %u SC 0x%02x\n", s->write ? "write" : "read",
                   (unsigned long long)s->block, (r->status >> 8) & 7, r->status & 0xFF);
        g_errors++;
    } else if (s->write) {
        g_gen[s->block] = s->gen;
    } else if (g_verify && g_gen[s->block]) {
        g_verified++;
        if (!check_pattern(s->buf, s->block, g_gen[s->block])) g_mismatches++;
    }
    if (g_record) {
        if (g_nlat < MAX_LAT_SAMPLES) g_lat[g_nlat++] = lat > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)lat;
        g_lat_sum += lat;
        if (lat > g_lat_max) g_lat_max = lat;
        g_bytes += g_bs;
    }
    g_inflight[s->block] = 0;
    s->busy = false;
    g_done++;
    (void)ctrl;
}

static int submit(struct slot *s, uint64_t block, bool write)
{
    struct nvme_ctrl *c = &g_stack.nvme;
    s->block = block;
    s->write = write;
    s->busy = true;
    g_inflight[block] = 1;
    if (write) {
        s->gen = g_gen[block] + 1;
        if (g_verify) fill_pattern(s->buf, block, s->gen);
    }
    /* Buffers larger than 8 KiB go as a scatter list of 4 KiB pages (dma_map_sg merges contiguous ones). */
    struct scatterlist sg[NVME_MAX_SEGS];
    int n = 0;
    if (g_bs <= 8192) {
        sg[n++] = (struct scatterlist){ .phys = virt_to_phys(s->buf), .length = (uint32_t)g_bs };
    } else {
        for (uint64_t off = 0; off < g_bs && n < NVME_MAX_SEGS; off += 4096)
            sg[n++] = (struct scatterlist){ .phys = virt_to_phys(s->buf + off),
                                            .length = (uint32_t)MIN(4096, g_bs - off) };
    }
    uint32_t nlb = (uint32_t)(g_bs >> c->lba_shift);
    int ret = nvme_submit_rw(c, write, block * nlb, nlb, sg, n, io_done, s);
    if (ret) {
        s->busy = false;
        g_inflight[block] = 0;
    }
    return ret;
}

static struct slot *free_slot(void)
{
    for (uint64_t i = 0; i < g_iodepth; i++)
        if (!g_slots[i].busy) return &g_slots[i];
    return NULL;
}

/* Runs `total` I/Os (or until the virtual deadline) with the pattern; returns false on a fatal problem. */
static bool run_phase(int rw, uint64_t total, uint64_t deadline_ns, uint64_t *seq_next, uint64_t *issued_out)
{
    uint64_t issued = 0;
    uint64_t t_end = deadline_ns;
    for (;;) {
        bool more = deadline_ns ? vtime_ns() < t_end : issued < total;
        while (more && nvme_inflight(&g_stack.nvme) < g_iodepth) {
            struct slot *s = free_slot();
            if (!s) break;
            bool write;
            switch (rw) {
            case RW_READ: case RW_RANDREAD: write = false; break;
            case RW_WRITE: case RW_RANDWRITE: write = true; break;
            default: write = (rng_next() % 100) >= g_rwmixread; break;
            }
            uint64_t block = 0;
            bool found = false;
            for (int tries = 0; tries < 64 && !found; tries++) {
                block = (rw == RW_READ || rw == RW_WRITE) ? (*seq_next)++ % g_nblocks : rng_next() % g_nblocks;
                found = !g_inflight[block];
            }
            if (!found) break;
            int ret = submit(s, block, write);
            if (ret == -EBUSY) break;
            if (ret) {
                printf("fio: submit failed (%d)\n", ret);
                return false;
            }
            issued++;
            more = deadline_ns ? vtime_ns() < t_end : issued < total;
        }
        if (!more && nvme_inflight(&g_stack.nvme) == 0) break;
        int r = nvme_wait_completion(&g_stack.nvme, NVME_IO_TIMEOUT_NS);
        if (r < 0) return false;
    }
    if (issued_out) *issued_out = issued;
    return true;
}

static void sort_u32(uint32_t *a, uint64_t n)
{
    /* Heap sort: O(n log n), no recursion. */
    for (uint64_t start = n / 2; start-- > 0;) {
        uint64_t root = start;
        for (;;) {
            uint64_t child = 2 * root + 1;
            if (child >= n) break;
            if (child + 1 < n && a[child] < a[child + 1]) child++;
            if (a[root] >= a[child]) break;
            uint32_t t = a[root]; a[root] = a[child]; a[child] = t;
            root = child;
        }
    }
    for (uint64_t end = n; end-- > 1;) {
        uint32_t t = a[0]; a[0] = a[end]; a[end] = t;
        uint64_t root = 0;
        for (;;) {
            uint64_t child = 2 * root + 1;
            if (child >= end) break;
            if (child + 1 < end && a[child] < a[child + 1]) child++;
            if (a[root] >= a[child]) break;
            t = a[root]; a[root] = a[child]; a[child] = t;
            root = child;
        }
    }
}

struct raw_ctx { bool done; uint16_t status; };

static void raw_done(struct nvme_ctrl *ctrl, struct nvme_request *r)
{
    struct raw_ctx *x = r->ctx;
    x->status = r->status;
    x->done = true;
    (void)ctrl;
}

/* One 4 KiB read of LBA 0 into DMA address `addr` as a raw command: the driver maps nothing. 0xFFFF = no answer. */
static uint16_t raw_read(uint64_t addr)
{
    struct nvme_ctrl *c = &g_stack.nvme;
    uint32_t nlb = 4096u >> c->lba_shift;
    struct nvme_command cmd = { .opcode = 0x02, .prp1 = addr, .cdw12 = nlb - 1 };
    struct raw_ctx x = { 0 };
    if (nvme_submit_raw(c, &cmd, raw_done, &x)) return 0xFFFF;
    for (int i = 0; i < 4 && !x.done; i++)
        if (nvme_wait_completion(c, NVME_IO_TIMEOUT_NS) < 0) break;
    return x.done ? x.status : 0xFFFF;
}

/*
 * The use-after-unmap probes. Each: dma_map_page a buffer, one good read into it, dma_unmap_page (strict: the
 * UNMAP is synced before it returns; lazy: queued, the IOVA parked in the flush queue), then the device keeps
 * reading to the old IOVA: STALE_BURST accesses back to back, then it idles until the next event (HLT; the next
 * event is normally the flush-queue timer), and again, until an access is refused. The window of a probe is from
 * the return of dma_unmap_page to the submission of the first refused access (0 when none succeeded).
 */
static bool run_stale_probes(uint8_t *buf)
{
    struct device *dev = g_stack.nvme.dev;
    uint64_t accesses = 0, succeeded = 0, open_probes = 0, win_sum = 0, win_max = 0, unclosed = 0;
    for (uint64_t p = 0; p < g_stale; p++) {
        dma_addr_t iova = dma_map_page(dev, virt_to_phys(buf), 4096, DMA_FROM_DEVICE);
        if (iova == DMA_MAPPING_ERROR) {
            printf("stale: dma_map_page failed\n");
            return false;
        }
        uint16_t st = raw_read(iova);
        if (st) {
            printf("stale: the mapped read failed (status 0x%x)\n", st);
            return false;
        }
        dma_unmap_page(dev, iova, 4096, DMA_FROM_DEVICE);
        uint64_t t0 = vtime_ns(), ok = 0, closed_at = 0;
        bool closed = false;
        for (uint64_t a = 0; a < STALE_MAX_ACCESSES && vtime_ns() - t0 < STALE_MAX_NS; a++) {
            uint64_t t = vtime_ns();
            st = raw_read(iova);
            accesses++;
            if (st) {
                closed = true;
                closed_at = t;
                break;
            }
            ok++;
            if (ok % STALE_BURST == 0) {
                irq_enable();
                hlt();
                irq_disable();
            }
        }
        succeeded += ok;
        if (ok) {
            open_probes++;
            uint64_t w = (closed ? closed_at : vtime_ns()) - t0;
            win_sum += w;
            if (w > win_max) win_max = w;
        }
        if (!closed) unclosed++;
    }
    printf("stale: probes %llu accesses %llu succeeded %llu open %llu unclosed %llu window_ns mean %llu max %llu\n",
           (unsigned long long)g_stale, (unsigned long long)accesses, (unsigned long long)succeeded,
           (unsigned long long)open_probes, (unsigned long long)unclosed,
           (unsigned long long)(g_stale ? win_sum / g_stale : 0), (unsigned long long)win_max);
    return true;
}

int main(const struct boot_info *bi)
{
    printf("nvme-fio: ManagedVmm fio-like NVMe workload through virtio-iommu\n");
    struct stack *st = &g_stack;
    int status = platform_init(st, bi);
    if (status) return status;

    struct cmdline_opt opts[STACK_NR_OPTS + 10];
    stack_common_opts(st, opts);
    int n = STACK_NR_OPTS;
    opts[n++] = (struct cmdline_opt){ "fio.rw", OPT_ENUM, &g_rw, 0, 0, rw_choices, "workload" };
    opts[n++] = (struct cmdline_opt){ "fio.bs", OPT_U64, &g_bs, 512, 512 * 1024, NULL, "block size" };
    opts[n++] = (struct cmdline_opt){ "fio.iodepth", OPT_U64, &g_iodepth, 1, MAX_IODEPTH, NULL, "queue depth" };
    opts[n++] = (struct cmdline_opt){ "fio.ios", OPT_U64, &g_ios, 1, 10000000, NULL, "number of I/Os" };
    opts[n++] = (struct cmdline_opt){ "fio.runtime_ms", OPT_U64, &g_runtime_ms, 1, 3600000, NULL, "virtual ms" };
    opts[n++] = (struct cmdline_opt){ "fio.verify", OPT_BOOL, &g_verify, 0, 1, NULL, "write patterns, read back" };
    opts[n++] = (struct cmdline_opt){ "fio.size_mb", OPT_U64, &g_size_mb, 1, 65536, NULL, "region in MiB" };
    opts[n++] = (struct cmdline_opt){ "fio.rwmixread", OPT_U64, &g_rwmixread, 0, 100, NULL, "randrw read %" };
    opts[n++] = (struct cmdline_opt){ "fio.seed", OPT_U64, &g_seed, 1, ~0ull, NULL, "random seed" };
    opts[n++] = (struct cmdline_opt){ "fio.stale", OPT_U64, &g_stale, 0, MAX_STALE_PROBES, NULL, "use-after-unmap probes" };
    const char *cl = boot_info_cmdline(bi);
    printf("cmdline: \"%s\"\n", cl);
    if (cmdline_parse(cl, opts, n)) {
        printf("nvme-fio: bad command line; FAIL\n");
        return EXIT_BAD_CMDLINE;
    }
    if (g_ios && g_runtime_ms) {
        printf("cmdline: fio.ios and fio.runtime_ms are exclusive\nnvme-fio: bad command line; FAIL\n");
        return EXIT_BAD_CMDLINE;
    }
    if (g_bs & 511) {
        printf("cmdline: fio.bs=%llu is not a multiple of 512\nnvme-fio: bad command line; FAIL\n",
               (unsigned long long)g_bs);
        return EXIT_BAD_CMDLINE;
    }
    if (!g_ios && !g_runtime_ms) g_ios = 2000;
    cmdline_print(opts, n);
    g_rng = g_seed;

    int32_t nvme_bdf = pci_find_class(0x010802);
    if (nvme_bdf < 0) {
        printf("nvme-fio: no NVMe controller (class 010802) on bus 0; FAIL\n");
        return EXIT_NO_DEVICE;
    }
    status = stack_init_iommu(st, (uint16_t)nvme_bdf);
    if (status) {
        printf("nvme-fio: IOMMU setup failed; FAIL\n");
        return status;
    }
    status = stack_init_nvme(st, (uint16_t)nvme_bdf, (uint16_t)(g_iodepth + 1));
    if (status) {
        printf("nvme-fio: NVMe bring-up failed; FAIL\n");
        return status;
    }
    struct nvme_ctrl *c = &st->nvme;
    if ((g_bs >> c->lba_shift) << c->lba_shift != g_bs || g_bs > c->max_transfer) {
        printf("nvme-fio: fio.bs=%llu must be a multiple of the %u-byte block and at most %u; FAIL\n",
               (unsigned long long)g_bs, 1u << c->lba_shift, c->max_transfer);
        return EXIT_BAD_CMDLINE;
    }
    if (g_iodepth > (uint64_t)c->io.depth - 1) g_iodepth = c->io.depth - 1u;
    uint64_t dev_bytes = c->nsze << c->lba_shift;
    uint64_t region = MIN(g_size_mb << 20, dev_bytes);
    g_nblocks = region / g_bs;
    if (g_nblocks < g_iodepth * 2) {
        printf("nvme-fio: device too small for this bs/iodepth; FAIL\n");
        return EXIT_BAD_CMDLINE;
    }
    g_gen = kzalloc(g_nblocks * sizeof(uint32_t));
    g_inflight = kzalloc(g_nblocks);
    g_lat = kzalloc(MAX_LAT_SAMPLES * sizeof(uint32_t));
    for (uint64_t i = 0; i < g_iodepth; i++) {
        g_slots[i].buf = page_alloc(ALIGN_UP(g_bs, PAGE_SIZE) / PAGE_SIZE);
        if (!g_slots[i].buf) {
            printf("nvme-fio: out of memory for buffers; FAIL\n");
            return EXIT_NO_MEMORY;
        }
    }
    if (!g_gen || !g_inflight || !g_lat) {
        printf("nvme-fio: out of memory for bookkeeping; FAIL\n");
        return EXIT_NO_MEMORY;
    }

    bool ok = true;
    uint64_t seq = 0;
    /* Prefill for verified reads: write every block once (not measured). */
    if (g_verify && (g_rw == RW_READ || g_rw == RW_RANDREAD || g_rw == RW_RANDRW)) {
        g_record = false;
        uint64_t prefill = MIN(g_nblocks, 4096);
        g_nblocks = prefill;
        ok = run_phase(RW_WRITE, prefill, 0, &seq, NULL);
        printf("fio: prefilled %llu blocks\n", (unsigned long long)prefill);
        seq = 0;
        g_record = true;
    }

    struct counters before, after, delta;
    stack_snapshot(st, &before);
    uint64_t t0 = vtime_ns(), issued = 0;
    if (ok) ok = run_phase(g_rw, g_ios, g_runtime_ms ? t0 + g_runtime_ms * 1000000ull : 0, &seq, &issued);
    uint64_t t1 = vtime_ns();
    stack_snapshot(st, &after);
    counters_sub(&delta, &after, &before);
    uint64_t ios = g_nlat ? g_done : 0;
    (void)ios;

    uint64_t measured = issued, elapsed = t1 - t0;
    printf("fio: %s bs=%llu iodepth=%llu: %llu I/Os in %llu us (virtual)\n", rw_choices[g_rw],
           (unsigned long long)g_bs, (unsigned long long)g_iodepth, (unsigned long long)measured,
           (unsigned long long)(elapsed / 1000));
    if (elapsed && measured) {
        uint64_t iops = measured * 1000000000ull / elapsed;
        uint64_t kib_s = (uint64_t)((unsigned __int128)g_bytes * 1000000000ull / elapsed / 1024);
        printf("fio: IOPS %llu, bandwidth %llu KiB/s\n", (unsigned long long)iops, (unsigned long long)kib_s);
    }
    if (g_nlat) {
        uint64_t mean = g_lat_sum / measured;
        sort_u32(g_lat, g_nlat);
        uint32_t p50 = g_lat[(g_nlat - 1) * 50 / 100], p99 = g_lat[(g_nlat - 1) * 99 / 100];
        printf("fio: latency ns: mean %llu p50 %u p99 %u max %llu (%llu samples)\n", (unsigned long long)mean, p50,
               p99, (unsigned long long)g_lat_max, (unsigned long long)g_nlat);
    }
    stack_print_counters(st, &delta, measured);

    /* Read back everything written (write workloads with verify). */
    if (ok && g_verify && (g_rw == RW_WRITE || g_rw == RW_RANDWRITE || g_rw == RW_RANDRW)) {
        g_record = false;
        uint64_t written = 0;
        for (uint64_t b = 0; b < g_nblocks; b++) written += g_gen[b] != 0;
        /* Sequential read of all blocks; only written ones are compared. */
        uint64_t s2 = 0;
        ok = run_phase(RW_READ, g_nblocks, 0, &s2, NULL);
        printf("fio: read back %llu blocks (%llu written)\n", (unsigned long long)g_nblocks,
               (unsigned long long)written);
    }
    if (g_verify) printf("fio: verify: %llu blocks checked, %llu mismatches\n", (unsigned long long)g_verified,
                         (unsigned long long)g_mismatches);

    if (ok && g_stale) ok = run_stale_probes(g_slots[0].buf);

    /* Clean up: drain the flush queue so every IOVA is free, detach, shut the controller down. */
    if (st->have_viommu && st->nvme_dev.domain) {
        iommu_dma_drain_fq(st->nvme_dev.domain);
        if (st->viommu.broken) ok = false;
    }
    nvme_shutdown(c);
    if (g_errors) ok = false;
    if (g_mismatches) ok = false;
    if (g_verify && g_verified == 0) {
        printf("fio: verify requested but nothing was verified\n");
        ok = false;
    }
    if (!ok) {
        printf("nvme-fio: FAIL (errors %llu, mismatches %llu)\n", (unsigned long long)g_errors,
               (unsigned long long)g_mismatches);
        return g_mismatches ? EXIT_CHECK_FAILED : (c->dead ? EXIT_TIMEOUT : EXIT_NVME_ERROR);
    }
    printf("nvme-fio: PASS\n");
    return EXIT_PASS;
}
