/*
 * PVH entry (Xen's x86/HVM direct boot ABI), so that `qemu-system-x86_64 -machine q35 -kernel IMAGE` boots our
 * images too (ARCHITECTURE §3). The loader enters pvh_start32 in 32-bit protected mode, paging off, EBX = the
 * physical address of struct hvm_start_info. We build our own identity map of the low 4 GiB (2 MiB pages), a GDT
 * with a 64-bit code segment, enter long mode, turn hvm_start_info into the boot-info view (pvh_boot_info, C),
 * and continue at _start exactly as if the VMM had started us in long mode.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MSR_EFER 0xC0000080
#define EFER_LME 0x100
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define PTE_PRESENT_RW 0x3
#define PDE_LARGE 0x83

    /* The note: owner "Xen", type 18; the descriptor is 64 bits because QEMU reads it so in an ELF64 image. */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 8
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .quad pvh_start32
    .balign 4

    .section .text.pvh, "ax"
    .code32
    .globl pvh_start32
    .type pvh_start32, @function
pvh_start32:
    cli
    cld
    movl %ebx, %esi                     /* hvm_start_info, kept in ESI (RSI after the switch) */

    /* Zero the six table pages: PML4, PDPT, four page directories. */
    movl $pvh_page_tables, %edi
    movl $(6 * 4096 / 4), %ecx
    xorl %eax, %eax
    rep stosl

    movl $pvh_page_tables, %edi
    leal (4096 + PTE_PRESENT_RW)(%edi), %eax
    movl %eax, (%edi)                   /* PML4[0] -> PDPT */

    leal 4096(%edi), %ebx               /* PDPT */
    leal (2 * 4096 + PTE_PRESENT_RW)(%edi), %eax
    movl $4, %ecx
1:  movl %eax, (%ebx)                   /* PDPT[i] -> PD i */
    addl $4096, %eax
    addl $8, %ebx
    loop 1b

    leal (2 * 4096)(%edi), %ebx         /* 2048 PDEs of 2 MiB pages: 0 .. 4 GiB */
    movl $PDE_LARGE, %eax
    movl $2048, %ecx
2:  movl %eax, (%ebx)
    addl $0x200000, %eax
    addl $8, %ebx
    loop 2b

    movl %edi, %cr3
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    lgdt pvh_gdt_descriptor
    movl %cr0, %eax
    orl $(CR0_PG | CR0_PE), %eax
    movl %eax, %cr0
    ljmp $0x08, $pvh_start64

    .code64
pvh_start64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movq $__stack_top, %rsp
    movl %esi, %edi                     /* zero-extends: the hvm_start_info address */
    call pvh_boot_info                  /* returns the boot-info view in RAX */
    movq %rax, %rdi
    jmp _start
    .size pvh_start32, . - pvh_start32

    .section .rodata.pvh, "a"
    .balign 8
pvh_gdt:
    .quad 0
    .quad 0x00AF9B000000FFFF            /* 0x08: 64-bit code */
    .quad 0x00CF93000000FFFF            /* 0x10: flat data */
pvh_gdt_end:
    .balign 8
pvh_gdt_descriptor:
    .word pvh_gdt_end - pvh_gdt - 1
    .long pvh_gdt

    /* Outside bss (link.ld), so _start's bss clearing cannot wipe the tables we are running on. */
    .section .pvhtables, "aw", @nobits
    .balign 4096
pvh_page_tables:
    .skip 6 * 4096

    .section .note.GNU-stack, "", @progbits
