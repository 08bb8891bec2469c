/* Polled 16550 UART driver for COM1 (0x3F8), 115200 8n1. */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#include "types.h"

#define COM1_PORT 0x3F8

void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);

#endif
