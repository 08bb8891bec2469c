#include "runtime.h"

NORETURN void debug_exit(uint32_t code)
{
    outl(DEBUG_EXIT_PORT, code);
    for (;;) {
        cli();
        hlt();
    }
}

NORETURN void exit(int status)
{
    debug_exit((uint32_t)status);
}

/* Called by _start (entry.S) once the stack is set and bss is zero. */
NORETURN void runtime_start(const struct boot_info *bi);

NORETURN void runtime_start(const struct boot_info *bi)
{
    serial_init();
    exit(main(bi));
}
