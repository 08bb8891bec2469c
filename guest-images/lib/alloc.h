/*
 * Memory allocators: a page allocator (first fit over a bitmap of the RAM after the image, contiguous runs) and a
 * small-object allocator (power-of-two size classes from 16 B to 2 KiB carved from pages, free lists per class;
 * larger requests take whole pages). Single CPU; callers that may run in interrupt context use irq_save.
 */
#ifndef GUEST_ALLOC_H
#define GUEST_ALLOC_H

#include "runtime.h"

/* Finds the RAM after the image in the boot-info memory map and takes up to `max_bytes` of it. */
void alloc_init(const struct boot_info *bi, uint64_t max_bytes);

/* Physically contiguous, page-aligned, zeroed; NULL when no run of n pages is free. */
void *page_alloc(size_t npages);
void page_free(void *p, size_t npages);
size_t page_free_count(void);

void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);

/* The heap's range (the firmware reports it; tests check DMA buffers lie inside it). */
uint64_t heap_start(void);
uint64_t heap_end(void);

#endif
