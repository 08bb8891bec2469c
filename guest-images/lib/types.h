/* Freestanding integer types and helpers for ManagedVmm guest images. */
#ifndef GUEST_TYPES_H
#define GUEST_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>

typedef long ssize_t;

#define NORETURN __attribute__((noreturn))
#define UNUSED __attribute__((unused))

#endif
