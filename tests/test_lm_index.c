/* track/lm_index.c on its own: the tables it replaces are given back. A plugin host that loads and
 * unloads plugins by path for ever gives every new link map address an entry, and every unload a
 * tombstone; the table is then replaced at the same size again and again, and a replaced table that
 * stays mapped is memory lost for each 128 loads (about 30 bytes a dlopen/dlclose cycle, for ever).
 * mmap and munmap are wrapped (-Wl,--wrap) to count the tables mapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "track/lm_index.h"

static long mapped;

void *__real_mmap(void *, size_t, int, int, int, off_t);
int __real_munmap(void *, size_t);

void *__wrap_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
    void *p = __real_mmap(a, n, prot, flags, fd, off);
    if (p != MAP_FAILED)
        mapped++;
    return p;
}

int __wrap_munmap(void *a, size_t n)
{
    int r = __real_munmap(a, n);
    if (r == 0)
        mapped--;
    return r;
}

/* 100,000 objects opened (each at a link map address not seen before) and unloaded in turn: the index
 * never holds more than one entry, and never more than two tables (the one in use, one replaced). */
static void replaced_tables_are_unmapped(void **s)
{
    (void)s;
    static char maps[16]; /* link map addresses: only compared, never read */
    long most = 0;
    for (uintptr_t i = 0; i < 100000; i++) {
        void *lm = (void *)((uintptr_t)maps + 16 * i);
        assert_int_equal(cg_lmx_set_handle(lm, lm, 1), 0);
        assert_ptr_equal(cg_lmx_handle(lm, 1), lm);
        cg_lmx_forget_handles();
        assert_null(cg_lmx_handle(lm, 1));
        most = mapped > most ? mapped : most;
    }
    if (most > 2)
        fail_msg("%ld tables mapped at once for an index of one entry", most);
}

/* A handle is used only under the unload count it was kept with (any unload since: not used), and is
 * used again once kept anew. */
static void handle_needs_the_same_unload_count(void **s)
{
    (void)s;
    static char lm[1];
    assert_int_equal(cg_lmx_set_handle(lm, lm, 7), 0);
    assert_ptr_equal(cg_lmx_handle(lm, 7), lm);
    assert_null(cg_lmx_handle(lm, 8));
    assert_null(cg_lmx_handle(lm, CG_UNLOADS_UNKNOWN));
    assert_int_equal(cg_lmx_set_handle(lm, lm, 8), 0);
    assert_ptr_equal(cg_lmx_handle(lm, 8), lm);
    cg_lmx_forget_handles();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handle_needs_the_same_unload_count),
        cmocka_unit_test(replaced_tables_are_unmapped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
