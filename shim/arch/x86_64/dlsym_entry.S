/* ctxguard's dlsym, in assembly for one reason: lookups relative to the caller (RTLD_NEXT, and
 * RTLD_DEFAULT, which searches the caller's own scope) must reach glibc with the caller's return
 * address intact, or glibc answers for ctxguard instead of the caller. Those are tail-jumped to
 * glibc untouched, and so are lookups in a handle of names not starting with "cu"; the rest go to
 * cg_dlsym_handle, also by tail jump. */
#if defined(__x86_64__)
/* Calls FN(rdi, rsi, caller's return address in rdx) keeping rdi and rsi for the tail jump after it,
 * with the stack aligned for the call and the unwind information right. */
        .macro  CALL_KEEPING_ARGS fn
        pushq   %rdi
        .cfi_adjust_cfa_offset 8
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    24(%rsp), %rdx
        call    \fn
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rdi
        .cfi_adjust_cfa_offset -8
        .endm

        .text
        .globl  dlsym
        .type   dlsym, @function
        .globl  cg_dlsym_entry          /* ctxguard's own address of it, whatever the global scope says */
        .hidden cg_dlsym_entry
dlsym:
cg_dlsym_entry:
        .cfi_startproc
        movq    cg_real_dlsym(%rip), %rax
        testq   %rax, %rax
        jz      .Lresolve
.Ldispatch:
        leaq    1(%rdi), %rcx           /* RTLD_NEXT (-1) and RTLD_DEFAULT (0) become 0 and 1: */
        cmpq    $1, %rcx                /* one compare for both (rcx is a scratch register) */
        jbe     .Lglibc
        /* A handle lookup of a name that cannot be CUDA's (not "cu…") goes straight to glibc too:
         * every other library's dlsym pays these few compares and nothing else. */
        testq   %rsi, %rsi
        je      .Lglibc
        cmpb    $0x63, (%rsi)           /* 'c' */
        jne     .Lglibc
        cmpb    $0x75, 1(%rsi)          /* 'u' */
        jne     .Lglibc
        jmp     cg_dlsym_handle
.Lglibc:
        jmp     *%rax
.Lresolve:
        /* First call before ctxguard's constructor ran: find glibc's dlsym, then dispatch. */
        CALL_KEEPING_ARGS cg_resolve_real_dlsym
        testq   %rax, %rax
        jnz     .Ldispatch
        ret
        .cfi_endproc
        .size   dlsym, .-dlsym

/* ctxguard's dlopen: glibc searches the *caller's* RUNPATH (and expands $ORIGIN, and picks the
 * namespace, by the caller), so the call reaches glibc with the caller's return address, by tail
 * jump: RTLD_DEEPBIND loads stop on the way, to report (before loading) that the module will bypass
 * ctxguard. Only where glibc's answer cannot depend on who asks (cg_dlopen_keeps_handle: a path
 * without '$', from ctxguard's own namespace) does ctxguard call glibc itself, to keep the handle. */
        .globl  dlopen
        .type   dlopen, @function
        .globl  cg_dlopen_entry
        .hidden cg_dlopen_entry
dlopen:
cg_dlopen_entry:
        .cfi_startproc
        movq    cg_real_dlopen(%rip), %rax
        testq   %rax, %rax
        jz      .Lopen_resolve
.Lopen_dispatch:
        testl   $0x8, %esi              /* RTLD_DEEPBIND */
        jnz     .Lopen_deep
        CALL_KEEPING_ARGS cg_dlopen_keeps_handle
        testl   %eax, %eax
        jnz     cg_dlopen_noted         /* it returns the handle to the caller */
        movq    cg_real_dlopen(%rip), %rax
        jmp     *%rax
.Lopen_deep:
        CALL_KEEPING_ARGS cg_note_deepbind
        movq    cg_real_dlopen(%rip), %rax
        jmp     *%rax
.Lopen_resolve:
        CALL_KEEPING_ARGS cg_resolve_real_dlsym
        movq    cg_real_dlopen(%rip), %rax
        testq   %rax, %rax
        jnz     .Lopen_dispatch
        ret
        .cfi_endproc
        .size   dlopen, .-dlopen

/* dlclose: a plain tail jump to C; in assembly only so that ctxguard has its own address of it. */
        .globl  dlclose
        .type   dlclose, @function
        .globl  cg_dlclose_entry
        .hidden cg_dlclose_entry
dlclose:
cg_dlclose_entry:
        .cfi_startproc
        jmp     cg_dlclose_impl
        .cfi_endproc
        .size   dlclose, .-dlclose
#endif
        .section .note.GNU-stack,"",@progbits
