/*
 * Firmware entry (ARCHITECTURE §3): the VMM starts us in 64-bit long mode, IF = 0, RDI = boot-info block,
 * RSP = the VMM's boot stack with a zero return address at [RSP]. We remember that RSP, take our own stack,
 * zero bss, run firmware_main(boot_info) (which returns the payload entry), and jump to the payload with
 * RDI = RSI = boot-info and RSP back at the VMM's value with a zero return address, so the payload starts in the
 * same state it would without a firmware.
 */
    .section .text.entry, "ax"
    .code64
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    movq %rdi, %r12                 /* boot-info */
    movq %rsp, %r13                 /* the VMM's stack */
    movq $__stack_top, %rsp
    xorl %ebp, %ebp
    movq $__bss_start, %rdi
    movq $__bss_end, %rcx
    subq %rdi, %rcx
    shrq $3, %rcx
    xorl %eax, %eax
    rep stosq
    movq %r12, %rdi
    call firmware_main              /* returns the payload entry, or does not return */
    movq %r13, %rsp
    movq $0, (%rsp)
    movq %r12, %rdi
    movq %r12, %rsi
    xorl %ebp, %ebp
    jmp *%rax
    .size _start, . - _start

    .section .stack, "aw", @nobits
    .balign 16
    .skip 32768
    .globl __stack_top
__stack_top:

    .section .note.GNU-stack, "", @progbits
