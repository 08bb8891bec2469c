#include "printf.h"
#include "serial.h"
#include "string.h"

/* Where formatted characters go: the serial port, or a bounded buffer. */
struct sink {
    bool serial;
    char *buf;
    size_t size;
    size_t count;   /* characters produced (also beyond size, as vsnprintf reports) */
};

static void emit(struct sink *s, char c)
{
    if (s->serial)
        serial_putc(c);
    else if (s->count + 1 < s->size)
        s->buf[s->count] = c;
    s->count++;
}

static void emit_pad(struct sink *s, char c, int n)
{
    while (n-- > 0)
        emit(s, c);
}

#define F_LEFT 1
#define F_ZERO 2
#define F_PLUS 4
#define F_SPACE 8
#define F_ALT 16

static void emit_number(struct sink *s, uint64_t value, bool negative, unsigned base, bool upper,
                        int flags, int width, int precision, const char *prefix)
{
    char digits[24];
    int n = 0;
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    if (value == 0 && precision != 0)
        digits[n++] = '0';
    while (value) {
        digits[n++] = set[value % base];
        value /= base;
    }
    char sign = negative ? '-' : (flags & F_PLUS) ? '+' : (flags & F_SPACE) ? ' ' : 0;
    int zeros = precision > n ? precision - n : 0;
    int prefix_len = prefix ? (int)strlen(prefix) : 0;
    int len = n + zeros + (sign ? 1 : 0) + prefix_len;
    if ((flags & F_ZERO) && !(flags & F_LEFT) && precision < 0 && width > len) {
        zeros += width - len;
        len = width;
    }
    if (!(flags & F_LEFT))
        emit_pad(s, ' ', width - len);
    if (sign)
        emit(s, sign);
    for (int i = 0; i < prefix_len; i++)
        emit(s, prefix[i]);
    emit_pad(s, '0', zeros);
    while (n)
        emit(s, digits[--n]);
    if (flags & F_LEFT)
        emit_pad(s, ' ', width - len);
}

static int format(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            emit(s, *fmt);
            continue;
        }
        fmt++;
        int flags = 0;
        for (;; fmt++) {
            if (*fmt == '-') flags |= F_LEFT;
            else if (*fmt == '0') flags |= F_ZERO;
            else if (*fmt == '+') flags |= F_PLUS;
            else if (*fmt == ' ') flags |= F_SPACE;
            else if (*fmt == '#') flags |= F_ALT;
            else break;
        }
        int width = 0;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                flags |= F_LEFT;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        int precision = -1;
        if (*fmt == '.') {
            fmt++;
            precision = 0;
            if (*fmt == '*') {
                precision = va_arg(ap, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    precision = precision * 10 + (*fmt++ - '0');
            }
        }
        int length = 0; /* -2 hh, -1 h, 0 int, 1 long, 2 long long / size_t / ptrdiff_t / intmax_t */
        if (*fmt == 'h') {
            length = -1;
            if (*++fmt == 'h') {
                length = -2;
                fmt++;
            }
        } else if (*fmt == 'l') {
            length = 1;
            if (*++fmt == 'l') {
                length = 2;
                fmt++;
            }
        } else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j') {
            length = 2;
            fmt++;
        }
        char conv = *fmt;
        switch (conv) {
        case 'd':
        case 'i': {
            int64_t v = length >= 1 ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (length == -1) v = (short)v;
            if (length == -2) v = (signed char)v;
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            emit_number(s, mag, v < 0, 10, false, flags, width, precision, NULL);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v = length >= 1 ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
            if (length == -1) v = (unsigned short)v;
            if (length == -2) v = (unsigned char)v;
            unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
            const char *prefix = NULL;
            if ((flags & F_ALT) && v != 0)
                prefix = conv == 'x' ? "0x" : conv == 'X' ? "0X" : conv == 'o' ? "0" : NULL;
            emit_number(s, v, false, base, conv == 'X', flags & ~(F_PLUS | F_SPACE), width, precision, prefix);
            break;
        }
        case 'p': {
            uintptr_t v = (uintptr_t)va_arg(ap, void *);
            emit_number(s, v, false, 16, false, flags & ~(F_PLUS | F_SPACE), width, precision, "0x");
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            if (!(flags & F_LEFT))
                emit_pad(s, ' ', width - 1);
            emit(s, c);
            if (flags & F_LEFT)
                emit_pad(s, ' ', width - 1);
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            int n = (int)(precision >= 0 ? strnlen(str, (size_t)precision) : strlen(str));
            if (!(flags & F_LEFT))
                emit_pad(s, ' ', width - n);
            for (int i = 0; i < n; i++)
                emit(s, str[i]);
            if (flags & F_LEFT)
                emit_pad(s, ' ', width - n);
            break;
        }
        case '%':
            emit(s, '%');
            break;
        case '\0':
            return (int)s->count;
        default:
            /* Unknown conversion: print it as written so the mistake is visible. */
            emit(s, '%');
            emit(s, conv);
            break;
        }
    }
    return (int)s->count;
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink s = { true, NULL, 0, 0 };
    return format(&s, fmt, ap);
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { false, buf, size, 0 };
    int n = format(&s, fmt, ap);
    if (size)
        buf[s.count < size ? s.count : size - 1] = '\0';
    return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int putchar(int c)
{
    serial_putc((char)c);
    return (unsigned char)c;
}

int puts(const char *s)
{
    serial_write(s, strlen(s));
    serial_putc('\n');
    return 0;
}
