/*
 * printf to the serial console. Conversions: %d %i %u %x %X %o %c %s %p %%; length modifiers hh h l ll z t j;
 * flags '-' (left-justify), '0' (zero-pad), '+', ' ', '#'; a field width and a precision, each a number or '*'.
 */
#ifndef GUEST_PRINTF_H
#define GUEST_PRINTF_H

#include "types.h"

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int puts(const char *s);
int putchar(int c);

#endif
