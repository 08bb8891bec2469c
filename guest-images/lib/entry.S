/*
 * 64-bit entry of every ManagedVmm guest image (ARCHITECTURE §3): the VMM, the firmware or the PVH trampoline
 * jumps here in long mode with paging on, IF = 0, and RDI = the boot-info block. We take our own stack, zero bss
 * (QEMU's loader and ours already did; a firmware that loads us may not), and call runtime_start(boot_info).
 */
    .section .text.entry, "ax"
    .code64
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    movq %rdi, %rbx                 /* keep the boot-info pointer */
    movq $__stack_top, %rsp
    xorl %ebp, %ebp
    movq $__bss_start, %rdi
    movq $__bss_end, %rcx
    subq %rdi, %rcx
    shrq $3, %rcx                   /* bss is 8-byte aligned and sized (link.ld) */
    xorl %eax, %eax
    rep stosq
    movq %rbx, %rdi
    call runtime_start
1:  hlt
    jmp 1b
    .size _start, . - _start

    /* The stack lives outside bss so zeroing bss cannot clear a stack in use. */
    .section .stack, "aw", @nobits
    .balign 16
__stack_bottom:
    .skip 65536
    .globl __stack_top
__stack_top:

    .section .note.GNU-stack, "", @progbits
