#include "serial.h"
#include "io.h"

#define UART_THR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define LSR_THRE 0x20

/* Bound on the THRE poll: a UART that never empties must not hang the guest. */
#define THRE_POLL_LIMIT 100000

void serial_init(void)
{
    outb(COM1_PORT + UART_IER, 0x00);        /* no interrupts: we poll */
    outb(COM1_PORT + UART_LCR, LCR_DLAB);
    outb(COM1_PORT + UART_DLL, 0x01);        /* divisor 1: 115200 baud */
    outb(COM1_PORT + UART_DLM, 0x00);
    outb(COM1_PORT + UART_LCR, LCR_8N1);
    outb(COM1_PORT + UART_FCR, 0x07);        /* FIFOs on and cleared */
    outb(COM1_PORT + UART_MCR, 0x03);        /* DTR, RTS */
}

void serial_putc(char c)
{
    for (int i = 0; i < THRE_POLL_LIMIT; i++) {
        if (inb(COM1_PORT + UART_LSR) & LSR_THRE)
            break;
        cpu_relax();
    }
    outb(COM1_PORT + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        serial_putc(s[i]);
}
