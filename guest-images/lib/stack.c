#include "stack.h"

static const char *const fq_choices[] = { "percpu", "single", NULL };

void stack_common_opts(struct stack *s, struct cmdline_opt *o)
{
    o[0] = (struct cmdline_opt){ "iommu.strict", OPT_BOOL, &iommu_policy.strict, 0, 1, NULL, "0 lazy, 1 strict" };
    o[1] = (struct cmdline_opt){ "iommu.passthrough", OPT_BOOL, &iommu_policy.passthrough, 0, 1, NULL,
                                 "1 identity domain" };
    o[2] = (struct cmdline_opt){ "iommu.fq", OPT_ENUM, &s->fq_kind, 0, 0, fq_choices, "percpu|single" };
    o[3] = (struct cmdline_opt){ "viommu.sync_map", OPT_BOOL, &viommu_options.sync_map, 0, 1, NULL,
                                 "1 iotlb_sync_map, 0 MAP synced in map_pages" };
    o[4] = (struct cmdline_opt){ "viommu.deferred_flush", OPT_BOOL, &viommu_options.deferred_flush, 0, 1, NULL,
                                 "IOMMU_CAP_DEFERRED_FLUSH" };
    o[5] = (struct cmdline_opt){ "nvme.poll", OPT_BOOL, &s->nvme_poll, 0, 1, NULL, "1 polled I/O queue" };
}

int platform_init(struct stack *s, const struct boot_info *bi)
{
    memset(s, 0, sizeof *s);
    s->bi = bi;
    if (!boot_info_valid(bi)) {
        printf("boot-info block at %p is not valid\n", (const void *)bi);
        return EXIT_CHECK_FAILED;
    }
    alloc_init(bi, 192u << 20);
    vtime_init(bi);
    idt_init();
    apic_init(bi->tsc_hz == 0); /* tsc_hz 0: booted through PVH by a BIOS, not by ManagedVmm */
    pci_init(bi);
    acpi_viot_parse(bi, &s->viot);
    printf("platform: tsc %llu Hz (%s), apic timer %llu Hz, ECAM 0x%llx, heap [0x%llx-0x%llx), VIOT %s\n",
           (unsigned long long)vtime_tsc_hz(), vtime_calibrated() ? "PIT-calibrated" : "boot-info",
           (unsigned long long)apic_timer_hz(), (unsigned long long)pci_ecam_base(),
           (unsigned long long)heap_start(), (unsigned long long)heap_end(),
           s->viot.present ? "present" : "absent");
    return EXIT_PASS;
}

int stack_init_iommu(struct stack *s, uint16_t nvme_bdf)
{
    iommu_policy.fq_single = s->fq_kind == 1;
    s->nvme_dev.bdf = nvme_bdf;
    s->nvme_dev.name = "nvme";
    s->msi_addr = msi_address();
    int32_t vbdf = pci_find_device(0x1AF4, VIRTIO_ID_IOMMU_PCI_DEVICE);
    if (vbdf < 0) {
        printf("stack: no virtio-iommu-pci on bus 0: NVMe DMA goes untranslated\n");
        s->nvme_dev.dma_direct = true;
        return EXIT_PASS;
    }
    if (s->viot.present && s->viot.have_iommu && s->viot.iommu_bdf != (uint16_t)vbdf)
        printf("stack: VIOT names the IOMMU at %04x, found %04x\n", s->viot.iommu_bdf, (unsigned)vbdf);
    int ret = viommu_probe(&s->viommu, (uint16_t)vbdf);
    if (ret) {
        printf("stack: virtio-iommu probe failed (%d)\n", ret);
        return EXIT_IOMMU_ERROR;
    }
    s->have_viommu = true;
    int64_t epid = s->viot.present ? viot_endpoint_id(&s->viot, 0, nvme_bdf) : -1;
    if (epid < 0) {
        printf("stack: %s; endpoint ID = requester ID 0x%x\n",
               s->viot.present ? "VIOT does not cover the NVMe" : "no VIOT", nvme_bdf);
        epid = nvme_bdf;
    }
    s->nvme_epid = (uint32_t)epid;
    ret = viommu_setup_device(&s->viommu, &s->nvme_dev, s->nvme_epid, &s->nvme_ep, &s->hw_msi);
    if (ret) return EXIT_IOMMU_ERROR;
    for (uint32_t i = 0; i < s->nvme_ep.nr_resv; i++)
        printf("viommu: endpoint %u resv [0x%llx-0x%llx] %s\n", s->nvme_epid,
               (unsigned long long)s->nvme_ep.resv[i].start,
               (unsigned long long)(s->nvme_ep.resv[i].start + s->nvme_ep.resv[i].length - 1),
               s->nvme_ep.resv[i].type == IOMMU_RESV_MSI ? "msi" : "reserved");
    /* x86 Linux programs the physical doorbell and relies on the device bypassing its MSI RESV_MEM region
     * (iommu_dma_compose_msi_msg is not used by the x86 vector domain); so do we. */
    if (!s->hw_msi && !s->nvme_dev.dma_direct)
        printf("viommu: warning: no MSI RESV_MEM region covers 0xfee00000; the NVMe's MSI-X writes may fault\n");
    return EXIT_PASS;
}

int stack_init_nvme(struct stack *s, uint16_t nvme_bdf, uint16_t io_depth)
{
    int ret = nvme_init(&s->nvme, nvme_bdf, &s->nvme_dev, s->nvme_poll, io_depth, s->msi_addr);
    if (ret) return ret == -ETIMEDOUT ? EXIT_TIMEOUT : EXIT_NVME_ERROR;
    return EXIT_PASS;
}

void stack_snapshot(struct stack *s, struct counters *out)
{
    memset(out, 0, sizeof *out);
    if (s->have_viommu) {
        out->v = s->viommu.stats;
        out->notifies = s->viommu.vqs[0].notifies;
    }
    out->c = iommu_stats;
}

void counters_sub(struct counters *out, const struct counters *a, const struct counters *b)
{
    const uint64_t *pa = (const uint64_t *)&a->v, *pb = (const uint64_t *)&b->v;
    uint64_t *po = (uint64_t *)&out->v;
    size_t nv = offsetof(struct viommu_stats, last_fault) / 8;
    for (size_t i = 0; i < nv; i++) po[i] = pa[i] - pb[i];
    out->v.last_fault = a->v.last_fault;
    pa = (const uint64_t *)&a->c;
    pb = (const uint64_t *)&b->c;
    po = (uint64_t *)&out->c;
    for (size_t i = 0; i < sizeof(struct iommu_stats) / 8; i++) po[i] = pa[i] - pb[i];
    out->notifies = a->notifies - b->notifies;
}

void stack_print_counters(struct stack *s, const struct counters *k, uint64_t per_ios)
{
    if (!s->have_viommu) {
        printf("iommu: none\n");
        return;
    }
    const struct viommu_stats *v = &k->v;
    printf("viommu: requests MAP %llu UNMAP %llu ATTACH %llu DETACH %llu PROBE %llu; syncs %llu kicks %llu "
           "drains %llu errors %llu faults %llu\n",
           (unsigned long long)v->req_map, (unsigned long long)v->req_unmap, (unsigned long long)v->req_attach,
           (unsigned long long)v->req_detach, (unsigned long long)v->req_probe, (unsigned long long)v->syncs,
           (unsigned long long)k->notifies, (unsigned long long)v->drains, (unsigned long long)v->req_errors,
           (unsigned long long)v->faults);
    const struct iommu_stats *c = &k->c;
    printf("iommu: map %llu unmap %llu iotlb_sync_map %llu iotlb_sync %llu flush_iotlb_all %llu "
           "(fq: queued %llu freed %llu timer %llu full %llu) iova alloc %llu (rcache hits %llu) free %llu\n",
           (unsigned long long)c->map_calls, (unsigned long long)c->unmap_calls, (unsigned long long)c->iotlb_sync_map,
           (unsigned long long)c->iotlb_sync, (unsigned long long)c->flush_iotlb_all,
           (unsigned long long)c->fq_queued, (unsigned long long)c->fq_freed, (unsigned long long)c->fq_timer_fires,
           (unsigned long long)c->fq_full_flushes, (unsigned long long)c->iova_alloc,
           (unsigned long long)c->iova_rcache_hits, (unsigned long long)c->iova_free);
    if (per_ios) {
        /* Fixed point with 3 decimals (no floating point in the guest). */
        uint64_t m = v->req_map * 1000 / per_ios, u = v->req_unmap * 1000 / per_ios,
                 kk = k->notifies * 1000 / per_ios, sy = v->syncs * 1000 / per_ios,
                 f = c->flush_iotlb_all * 1000 / per_ios;
        printf("per I/O: MAP %llu.%03llu UNMAP %llu.%03llu syncs %llu.%03llu kicks %llu.%03llu flushes %llu.%03llu\n",
               (unsigned long long)(m / 1000), (unsigned long long)(m % 1000), (unsigned long long)(u / 1000),
               (unsigned long long)(u % 1000), (unsigned long long)(sy / 1000), (unsigned long long)(sy % 1000),
               (unsigned long long)(kk / 1000), (unsigned long long)(kk % 1000), (unsigned long long)(f / 1000),
               (unsigned long long)(f % 1000));
    }
}
