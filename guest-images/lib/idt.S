/*
 * IDT entry stubs, 16 bytes apart (stub for vector v at idt_stubs + 16 * v). Each pushes a dummy error code when
 * the CPU does not push one, then its vector, and jumps to the common path, which saves the caller-saved
 * registers (and RBX, used to realign the stack), calls idt_dispatch(vector, error_code, rip), and returns with
 * IRETQ.
 */
    .section .text, "ax"
    .code64
    .balign 16
    .globl idt_stubs
idt_stubs:
    .set i, 0
    .rept 256
    .balign 16
    .if (i == 8) || (i == 10) || (i == 11) || (i == 12) || (i == 13) || (i == 14) || (i == 17) || (i == 21)
    .else
    pushq $0
    .endif
    pushq $i
    jmp idt_common
    .set i, i + 1
    .endr

    .balign 16
idt_common:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %rbx
    movq 80(%rsp), %rdi         /* vector */
    movq 88(%rsp), %rsi         /* error code */
    movq 96(%rsp), %rdx         /* RIP */
    movq %rsp, %rbx
    andq $-16, %rsp
    cld
    call idt_dispatch
    movq %rbx, %rsp
    popq %rbx
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    addq $16, %rsp
    iretq

    .section .note.GNU-stack, "", @progbits
