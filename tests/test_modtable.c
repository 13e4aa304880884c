/* The module table and use detection (issue 14, items 1, 2, 3, 5, 6): users whose calls come through
 * carriers, anonymous code or NVIDIA libraries; a host started through the dynamic loader; a module
 * slot freed and reused; more modules than the old table held; the static TLS ctxguard adds to every
 * thread. Each test runs real processes on the fake CUDA libraries. */
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "events.h"

static struct run R;


/* Bare, the other party's data is lost (status 1); under ctxguard the reset is blocked and the data
 * kept (status 0). Returns the block event. */
static const char *bare_loses_guard_blocks(const char *const argv[], const char *const env[])
{
    run_prog(&R, 0, 0, env, argv);
    if (R.status != 1)
        fail_msg("bare run: status %d, want 1 (data lost)\n%s%s", R.status, R.out, R.err);
    run_prog(&R, 1, 1, env, argv);
    if (R.status != 0)
        fail_msg("guarded run: status %d, want 0 (data kept)\n%s%s\nlog:\n%s", R.status, R.out, R.err, R.log);
    const char *ev = event(R.log, "cudaDeviceReset");
    expect_field(ev, "action", "\"block\"");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugB.so\"");
    return ev;
}

/* ---- item 1: users whose calls do not come straight from a module ---- */

/* Python through ctypes: libffi makes the call; the user is the module behind it. */
static void ctypes_user_counted(void **s)
{
    (void)s;
    if (access(PYTHON3, X_OK) != 0)
        skip();
    const char *const argv[] = {PYTHON3, ROOT_DIR "/tests/progs/ctypes_user.py", BUILD_DIR "/fake/libcudart.so.13",
                                PLUG("B"), NULL};
    /* pymalloc trips memcheck's uninitialised-read checks; the system allocator does not */
    const char *ev = bare_loses_guard_blocks(argv, ENV("PYTHONMALLOC=malloc"));
    expect_field_contains(ev, "shared_with", "_ctypes");
}

/* Code in anonymous executable memory (a JIT's) is a user of its own. */
static void anonymous_code_user_counted(void **s)
{
    (void)s;
    const char *const argv[] = {BUILD_DIR "/progs/anon_host", "anon", BUILD_DIR "/fake/libcudart.so.13", PLUG("B"), NULL};
    const char *ev = bare_loses_guard_blocks(argv, NULL);
    expect_field_contains(ev, "shared_with", "\"(anonymous)\"");
}

/* An NVIDIA library calling the runtime on the program's behalf: the program is the user. */
static void nvidia_library_user_counted(void **s)
{
    (void)s;
    const char *const argv[] = {BUILD_DIR "/progs/anon_host", "nvlib", BUILD_DIR "/fake/libcublas.so.13", PLUG("B"), NULL};
    const char *ev = bare_loses_guard_blocks(argv, NULL);
    expect_field(ev, "shared_with", "[\"" BUILD_DIR "/progs/anon_host\"]");
}

/* ---- item 2: a host started through the dynamic loader ---- */

/* A program header of an ELF file: copies PT_INTERP's text into buf, or gives PT_TLS's memory size. */
static long elf_segment(const char *path, uint32_t type, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    Elf64_Ehdr eh;
    long found = -1;
    if (fd < 0 || pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (int i = 0; i < eh.e_phnum && found < 0; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (size_t)i * eh.e_phentsize)) != (ssize_t)sizeof ph)
            break;
        if (ph.p_type != type)
            continue;
        found = (long)ph.p_memsz;
        if (buf && cap > ph.p_filesz && pread(fd, buf, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz)
            buf[ph.p_filesz] = '\0';
    }
    close(fd);
    return found;
}

static const char *loader(void)
{
    static char interp[512];
    assert_true(elf_segment(CUDA_HOST, PT_INTERP, interp, sizeof interp) > 0);
    return interp;
}

/* `ld.so ./cuda_host …`: /proc/self/exe is the loader, the program is the first link map. */
static void host_started_through_loader(void **s)
{
    (void)s;
    const char *const argv[] = {loader(), CUDA_HOST, "self:setup", PLUG("B") ":reset", "self:check", NULL};
    const char *ev = bare_loses_guard_blocks(argv, NULL);
    expect_field(ev, "shared_with", "[\"" CUDA_HOST "\"]");
    /* the host's own reset is the host's, named as itself, and a rule naming it matches */
    const char *const own[] = {loader(), CUDA_HOST, "self:setup", "self:reset", NULL};
    run_prog(&R, 1, 1, ENV("CTXGUARD_RULES=deny @reset from cuda_host"), own);
    assert_non_null(strstr(R.out, "self:reset -> 800"));
    expect_field(event(R.log, "cudaDeviceReset"), "caller", "\"" CUDA_HOST "\"");
}

/* ---- item 3: a freed module slot and the next module loaded there ---- */

/* B resets (observe: it happens) and is unloaded; C is loaded afterwards (into B's slot). A's failure
 * is B's doing, and C is never named for it. */
static void reused_slot_attribution_names_the_resetter(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("B") ":unload", PLUG("C") ":getdevice",
                   PLUG("A") ":check"));
    assert_int_equal(R.status, 1);
    const char *ev = event(R.log, "cudaMemcpy");
    expect_field(ev, "decided_by", "\"attribution\"");
    expect_field_contains(ev, "reason", "by libplugB.so (cudaDeviceReset");
    assert_null(strstr(ev, "libplugC.so"));
}

/* The exit summary keeps the blocked module's name after its slot is reused. */
static void reused_slot_summary_keeps_name(void **s)
{
    (void)s;
    run_prog(&R, 1, 0, ENV("CTXGUARD_SUMMARY=1"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("B") ":unload", PLUG("C") ":getdevice",
                   PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    if (count_lines_with(R.err, (const char *const[]){"event=summary", " module=libplugB.so call=cudaDeviceReset", " block=1", NULL}) != 1 ||
        count_lines_with(R.err, (const char *const[]){"event=summary", "module=libplugC.so call=cudaDeviceReset", NULL}) != 0)
        fail_msg("summary names the wrong module:\n%s", R.err);
}

/* Victims of a reset are told when they re-attach; a module loaded into a victim's freed slot is not
 * a victim. */
static void reused_slot_is_no_victim(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":setup", PLUG("A") ":reset", PLUG("B") ":unload",
                   PLUG("C") ":setup"));
    assert_int_equal(R.status, 0);
    if (count_lines_with(R.log, (const char *const[]){"attached again", "libplugC.so", NULL}) != 0)
        fail_msg("C was told it lost data it never had:\n%s", R.log);
}

/* ---- item 5: more modules than the old 64-slot table ---- */

/* 100 plugins hold data; the 101st, B, resets: every one is a user, and a rule naming B matches. */
static void hundred_modules_all_counted(void **s)
{
    (void)s;
    const char *const argv[] = {BUILD_DIR "/progs/many_host", "100", PLUG("A"), PLUG("B"), NULL};
    run_prog(&R, 0, 0, NULL, argv);
    assert_int_equal(R.status, 1);
    run_prog(&R, 1, 1, NULL, argv);
    if (R.status != 0 || !strstr(R.out, "reset -> 0\n"))
        fail_msg("status %d\n%s%s", R.status, R.out, R.err);
    const char *ev = event(R.log, "cudaDeviceReset");
    expect_field(ev, "action", "\"block\"");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugB.so\"");
    expect_field(ev, "shared_with_count", "100");
    assert_true(json_valid(ev, strlen(ev)));
    run_prog(&R, 1, 1, ENV("CTXGUARD_RULES=deny @reset from libplugB.so"), argv);
    if (R.status != 0 || !strstr(R.out, "reset -> 800\n"))
        fail_msg("the deny rule did not match B:\n%s%s", R.out, R.err);
}

/* ---- item 6: static TLS ---- */

/* Every thread of every preloaded process carries ctxguard's static TLS: it must stay small. */
static void static_tls_under_512_bytes(void **s)
{
    (void)s;
    long tls = elf_segment(SHIM, PT_TLS, NULL, 0);
    assert_true(tls >= 0);
    if (tls > 512)
        fail_msg("libctxguard.so has %ld bytes of static TLS (PT_TLS MemSiz); the limit is 512", tls);
}

/* A thread with a 32 KiB stack starts under the preload as it does bare. */
static void small_stack_thread_starts(void **s)
{
    (void)s;
    const char *const argv[] = {BUILD_DIR "/progs/small_stack", "32768", NULL};
    run_prog(&R, 0, 0, NULL, argv);
    assert_int_equal(R.status, 0);
    run_prog(&R, 1, 0, NULL, argv);
    if (R.status != 0)
        fail_msg("under ctxguard: status %d\n%s%s", R.status, R.out, R.err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctypes_user_counted),
        cmocka_unit_test(anonymous_code_user_counted),
        cmocka_unit_test(nvidia_library_user_counted),
        cmocka_unit_test(host_started_through_loader),
        cmocka_unit_test(reused_slot_attribution_names_the_resetter),
        cmocka_unit_test(reused_slot_summary_keeps_name),
        cmocka_unit_test(reused_slot_is_no_victim),
        cmocka_unit_test(hundred_modules_all_counted),
        cmocka_unit_test(static_tls_under_512_bytes),
        cmocka_unit_test(small_stack_thread_starts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
