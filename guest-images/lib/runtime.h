/* The guest runtime in one include: types, port I/O, serial, printf, strings, boot info, exit. */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include "types.h"
#include "io.h"
#include "serial.h"
#include "printf.h"
#include "string.h"
#include "bootinfo.h"

/* isa-debug-exit at 0xF4: the VMM stops with process status (code << 1) | 1. */
#define DEBUG_EXIT_PORT 0xF4

/* Stops the machine through the debug-exit port; halts forever if nothing stops it. */
NORETURN void debug_exit(uint32_t code);

/* What main's return value becomes: flushes nothing (output is unbuffered) and calls debug_exit. */
NORETURN void exit(int status);

/* Every image provides main; _start calls it with the boot-info block the VMM passed in RDI. */
int main(const struct boot_info *bi);

#endif
