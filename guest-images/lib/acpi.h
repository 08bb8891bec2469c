/*
 * ACPI tables: RSDP → XSDT (or RSDT) → a table by signature, with checksums verified. MCFG gives the ECAM base;
 * VIOT (ACPI 6.4, layout in docs) gives the virtio-iommu-pci node and the PCI ranges it translates, from which
 * viot_endpoint_id computes the endpoint ID as Linux does: ((seg - seg_start) << 16) + bdf - bdf_start + ep_start.
 */
#ifndef GUEST_ACPI_H
#define GUEST_ACPI_H

#include "runtime.h"

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __attribute__((packed));

/* The table with this signature, or NULL. Checks the RSDP, the XSDT/RSDT and the table's checksum. */
const struct acpi_header *acpi_find_table(const struct boot_info *bi, const char sig[4]);

/* ECAM base of segment 0 from MCFG (0 if there is no MCFG) and its bus range. */
uint64_t acpi_mcfg_ecam(const struct boot_info *bi, uint8_t *bus_start, uint8_t *bus_end);

#define VIOT_MAX_RANGES 16
struct viot_range {
    uint32_t endpoint_start;
    uint16_t segment_start, segment_end;
    uint16_t bdf_start, bdf_end;
    uint16_t output_node;
};
struct viot_info {
    bool present;
    bool have_iommu;
    uint16_t iommu_segment;
    uint16_t iommu_bdf;
    uint16_t iommu_node_offset;
    uint32_t nr_ranges;
    struct viot_range ranges[VIOT_MAX_RANGES];
    uint32_t nr_skipped; /* nodes of other types or beyond VIOT_MAX_RANGES */
};

/* Parses the VIOT (bounds-checked node walk). Returns false when there is none or it is malformed. */
bool acpi_viot_parse(const struct boot_info *bi, struct viot_info *out);

/* Endpoint ID of (segment, bdf) behind the virtio-iommu, or -1 when no range covers it. */
int64_t viot_endpoint_id(const struct viot_info *viot, uint16_t segment, uint16_t bdf);

#endif
