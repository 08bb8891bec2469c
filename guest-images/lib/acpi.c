#include "acpi.h"

static bool checksum_ok(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++) s += b[i];
    return s == 0;
}

/* Tables larger than this are treated as corrupt (ours are a few hundred bytes). */
#define ACPI_MAX_TABLE (1u << 20)

const struct acpi_header *acpi_find_table(const struct boot_info *bi, const char sig[4])
{
    if (!boot_info_valid(bi) || !bi->rsdp) return NULL;
    const uint8_t *rsdp = (const uint8_t *)(uintptr_t)bi->rsdp;
    if (memcmp(rsdp, "RSD PTR ", 8) != 0 || !checksum_ok(rsdp, 20)) return NULL;
    uint8_t rev = rsdp[15];
    uint64_t xsdt = 0;
    uint32_t rsdt;
    memcpy(&rsdt, rsdp + 16, 4);
    if (rev >= 2) memcpy(&xsdt, rsdp + 24, 8);
    const struct acpi_header *root = (const struct acpi_header *)(uintptr_t)(xsdt ? xsdt : rsdt);
    if (!root || root->length < sizeof(*root) || root->length > ACPI_MAX_TABLE || !checksum_ok(root, root->length))
        return NULL;
    size_t entry = xsdt ? 8 : 4;
    size_t n = (root->length - sizeof(*root)) / entry;
    const uint8_t *ents = (const uint8_t *)(root + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t a = 0;
        memcpy(&a, ents + i * entry, entry);
        const struct acpi_header *t = (const struct acpi_header *)(uintptr_t)a;
        if (!t || memcmp(t->signature, sig, 4) != 0) continue;
        if (t->length < sizeof(*t) || t->length > ACPI_MAX_TABLE || !checksum_ok(t, t->length)) continue;
        return t;
    }
    return NULL;
}

uint64_t acpi_mcfg_ecam(const struct boot_info *bi, uint8_t *bus_start, uint8_t *bus_end)
{
    const struct acpi_header *t = acpi_find_table(bi, "MCFG");
    if (!t || t->length < 44 + 16) return 0;
    const uint8_t *p = (const uint8_t *)t + 44;
    size_t n = (t->length - 44) / 16;
    for (size_t i = 0; i < n; i++, p += 16) {
        uint64_t base;
        uint16_t seg;
        memcpy(&base, p, 8);
        memcpy(&seg, p + 8, 2);
        if (seg != 0) continue;
        if (bus_start) *bus_start = p[10];
        if (bus_end) *bus_end = p[11];
        return base;
    }
    return 0;
}

bool acpi_viot_parse(const struct boot_info *bi, struct viot_info *out)
{
    memset(out, 0, sizeof *out);
    const struct acpi_header *t = acpi_find_table(bi, "VIOT");
    if (!t || t->length < 48) return false;
    const uint8_t *base = (const uint8_t *)t;
    uint16_t count, offset;
    memcpy(&count, base + 36, 2);
    memcpy(&offset, base + 38, 2);
    out->present = true;
    uint32_t off = offset;
    for (uint16_t i = 0; i < count; i++) {
        if (off + 4 > t->length) return false;
        uint8_t type = base[off];
        uint16_t len;
        memcpy(&len, base + off + 2, 2);
        if (len < 4 || off + len > t->length) return false; /* FW_BUG: stop parsing */
        const uint8_t *n = base + off;
        if (type == 1 && len >= 24) {
            if (out->nr_ranges < VIOT_MAX_RANGES) {
                struct viot_range *r = &out->ranges[out->nr_ranges++];
                memcpy(&r->endpoint_start, n + 4, 4);
                memcpy(&r->segment_start, n + 8, 2);
                memcpy(&r->segment_end, n + 10, 2);
                memcpy(&r->bdf_start, n + 12, 2);
                memcpy(&r->bdf_end, n + 14, 2);
                memcpy(&r->output_node, n + 16, 2);
            } else {
                out->nr_skipped++;
            }
        } else if (type == 3 && len >= 16) {
            if (!out->have_iommu) {
                out->have_iommu = true;
                memcpy(&out->iommu_segment, n + 4, 2);
                memcpy(&out->iommu_bdf, n + 6, 2);
                out->iommu_node_offset = (uint16_t)off;
            }
        } else {
            out->nr_skipped++;
        }
        off += len;
    }
    return true;
}

int64_t viot_endpoint_id(const struct viot_info *viot, uint16_t segment, uint16_t bdf)
{
    for (uint32_t i = 0; i < viot->nr_ranges; i++) {
        const struct viot_range *r = &viot->ranges[i];
        if (segment < r->segment_start || segment > r->segment_end) continue;
        if (bdf < r->bdf_start || bdf > r->bdf_end) continue;
        if (viot->have_iommu && r->output_node != viot->iommu_node_offset) continue;
        return (int64_t)(((uint32_t)(segment - r->segment_start) << 16) + bdf - r->bdf_start + r->endpoint_start);
    }
    return -1;
}
