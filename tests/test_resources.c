/* The resource table's inline paths (track/resources.h), linked with track/resources.c alone: what
 * the tracked wrappers' fast paths do with a record at the head of its chain, deeper in it, or in a
 * bucket another thread holds, and the thread's spare record. The wrappers themselves are covered
 * end to end by test_reclaim and test_random; these are the cases that a scenario reaches only by
 * chance (two live handles in one bucket, a lock held at the wrong moment). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "track/resources.h"

#define M 3    /* a user module */
#define DEV 1

/* What resources.c needs from the rest of the library. */
__thread struct cg_tls cg_tls __attribute__((tls_model("initial-exec"), aligned(64))) = {.dev = -1, .mod = -1};
static struct cg_mod_chunk chunk0; /* slots 0..CG_MOD_CHUNK-1 */
struct cg_mod_chunk *cg_mod_chunks[CG_MOD_CHUNKS] = {&chunk0};
int cg_mod_count = M + 2; /* M and M + 1: user modules */
struct cg_device cg_devices[CG_MAX_DEVICES];
unsigned int cg_created_live;
static int attributed; /* calls of cg_attribute_ex: the slow path's stack walk */
int cg_attribute_ex(const void *ra, int *no_user)
{
    (void)ra;
    (void)no_user;
    attributed++;
    return 0;
}
void cg_query_current(struct cg_ctxinfo *out)
{
    out->device = 0;
    out->ctx = NULL;
    out->kind = CG_CTX_PRIMARY;
}
int cg_pointer_device(uintptr_t p)
{
    (void)p;
    return -1;
}
const char *cg_module_base(int m)
{
    (void)m;
    return "libplug.so";
}

/* Two handles in one bucket: the hash is of the whole pointer, so search for a second one. */
static uintptr_t same_bucket_as(uintptr_t key)
{
    for (uintptr_t k = key + 256;; k += 256)
        if (cg_res_index(k) == cg_res_index(key))
            return k;
}

static long live(void)
{
    struct cg_res_counts c;
    cg_res_count(M, DEV, cg_ctx_gen_of(DEV), &c, 0);
    return c.allocations;
}

static int setup(void **s)
{
    (void)s;
    cg_mod(M)->cls = CG_MOD_USER;
    cg_mod(M + 1)->cls = CG_MOD_USER;
    cg_tls.dev = DEV;
    return 0;
}

/* The common pair: allocate, then free the newest record of its bucket, on the fast path. */
static void head_of_chain_taken_on_the_fast_path(void **s)
{
    (void)s;
    uintptr_t k = 0x7f0000100000;
    cg_res_add(M, 1, CG_RES_MEM, CG_RES_RUNTIME, k, 4096, NULL);
    assert_int_equal(live(), 1);
    int busy = 0;
    struct cg_res_rec *r = cg_res_take_in(k, CG_RES_MEM, &busy);
    assert_int_equal(busy, 0);
    assert_non_null(r);
    assert_true(r->key == k && r->bytes == 4096 && r->mod == M && r->dev == DEV && r->left == 0);
    cg_res_done(r, 1);
    assert_int_equal(live(), 0);
}

/* A record under a newer one of the same bucket: the fast path hands it to the slow half (busy),
 * changing nothing; the slow half's walk unlinks it and leaves the other. */
static void deeper_record_left_to_the_slow_half(void **s)
{
    (void)s;
    uintptr_t a = 0x7f0000200000, b = same_bucket_as(a);
    cg_res_add(M, 1, CG_RES_MEM, CG_RES_RUNTIME, a, 1, NULL);
    cg_res_add(M, 1, CG_RES_MEM, CG_RES_RUNTIME, b, 2, NULL); /* the head now */
    int busy = 0;
    assert_null(cg_res_take_in(a, CG_RES_MEM, &busy));
    assert_int_equal(busy, 1);
    assert_int_equal(live(), 2);
    struct cg_res_rec *r = cg_res_take(a, CG_RES_MEM, NULL);
    assert_non_null(r);
    assert_true(r->key == a && r->bytes == 1);
    cg_res_done(r, 1);
    assert_int_equal(live(), 1);
    busy = 0;
    r = cg_res_take_in(b, CG_RES_MEM, &busy);
    assert_true(busy == 0 && r != NULL && r->key == b);
    cg_res_done(r, 1);
    assert_int_equal(live(), 0);
}

/* The same handle of another type, and a handle never recorded in a non-empty bucket: neither is
 * taken (the fast path passes them on). */
static void other_type_or_unknown_handle_not_taken(void **s)
{
    (void)s;
    uintptr_t a = 0x7f0000300000;
    cg_res_add(M, 1, CG_RES_STREAM, CG_RES_RUNTIME, a, 0, NULL);
    int busy = 0;
    assert_null(cg_res_take_in(a, CG_RES_MEM, &busy));
    assert_int_equal(busy, 1);
    assert_null(cg_res_take(a, CG_RES_MEM, NULL));
    assert_null(cg_res_take(same_bucket_as(a), CG_RES_STREAM, NULL));
    struct cg_res_rec *r = cg_res_take(a, CG_RES_STREAM, NULL);
    assert_non_null(r);
    cg_res_done(r, 1);
}

/* A bucket another thread holds: the fast path does not wait for it. */
static void *take_while_held(void *arg)
{
    int *busy = arg;
    return cg_res_take_in(0x7f0000400000, CG_RES_MEM, busy);
}
static void held_bucket_left_to_the_slow_half(void **s)
{
    (void)s;
    uintptr_t k = 0x7f0000400000;
    cg_res_add(M, 1, CG_RES_MEM, CG_RES_RUNTIME, k, 8, NULL);
    uintptr_t *b = &cg_res_buckets[cg_res_index(k)];
    struct cg_res_rec *head = cg_res_lock(b);
    int busy = 0;
    pthread_t t;
    void *got = (void *)1;
    assert_int_equal(pthread_create(&t, NULL, take_while_held, &busy), 0);
    assert_int_equal(pthread_join(t, &got), 0);
    assert_null(got);
    assert_int_equal(busy, 1);
    cg_res_unlock(b, head);
    struct cg_res_rec *r = cg_res_take(k, CG_RES_MEM, NULL);
    assert_non_null(r);
    cg_res_done(r, 1);
}

/* A failed free keeps its record; a freed one becomes the spare the next allocation fills without
 * the free list, and the spare slot reads "none" (CG_RES_NO_SPARE) once used. */
static void spare_record_reused(void **s)
{
    (void)s;
    uintptr_t k = 0x7f0000500000;
    cg_res_add(M, 1, CG_RES_MEM, CG_RES_RUNTIME, k, 16, NULL);
    struct cg_res_rec *r = cg_res_take(k, CG_RES_MEM, NULL);
    assert_non_null(r);
    cg_res_done(r, 0); /* the free failed: still allocated */
    assert_int_equal(live(), 1);
    r = cg_res_take(k, CG_RES_MEM, NULL);
    cg_res_done(r, 1);
    assert_ptr_equal(cg_tls.res_spare, r);
    cg_res_add(M, 1, CG_RES_MEM, CG_RES_RUNTIME, k + 4096, 32, NULL);
    assert_ptr_equal(cg_tls.res_spare, CG_RES_NO_SPARE);
    struct cg_res_rec *again = cg_res_take(k + 4096, CG_RES_MEM, NULL);
    assert_ptr_equal(again, r);
    assert_true(again->bytes == 32 && again->resets + 1 == cg_ctx_gen_of(DEV));
    cg_res_done(again, 1);
    assert_ptr_equal(cg_tls.res_spare, r);
}

/* The record's incarnation: a reset of the device retires what was allocated before it. */
static void reset_count_recorded(void **s)
{
    (void)s;
    uintptr_t k = 0x7f0000600000;
    cg_res_add(M, 1, CG_RES_MEM, CG_RES_RUNTIME, k, 64, NULL);
    unsigned int gen = cg_ctx_gen_of(DEV);
    assert_int_equal(live(), 1);
    __atomic_add_fetch(&cg_devices[DEV].resets, 1, __ATOMIC_RELEASE);
    struct cg_res_counts c;
    cg_res_count(M, DEV, gen, &c, 0);
    assert_int_equal(c.allocations, 1); /* still the old incarnation's */
    assert_int_equal(live(), 0);        /* none in the new one */
    cg_res_retire(DEV);
    cg_res_count(M, DEV, gen, &c, 0);
    assert_int_equal(c.allocations, 0);
    assert_null(cg_res_take(k, CG_RES_MEM, NULL));
}

/* Issue 15, risk 2: two live objects never share a handle, so an allocation at the address of a live
 * record means that record's object was freed unseen: the record is dropped, whatever its chain
 * position, and only the new one is left (a reclaim of the old module would free the new object). */
static void new_allocation_drops_a_stale_record(void **s)
{
    (void)s;
    uintptr_t k = 0x7f0000700000, other = same_bucket_as(k);
    cg_res_add(M, 1, CG_RES_MEM, CG_RES_RUNTIME, k, 128, NULL);
    cg_res_add(M, 1, CG_RES_MEM, CG_RES_RUNTIME, other, 1, NULL); /* k's record deeper in the chain */
    cg_res_add(M + 1, 1, CG_RES_HOST, CG_RES_DRIVER, k, 256, NULL); /* k again: another module's */
    assert_int_equal(live(), 1);                                   /* M has `other` only */
    struct cg_res_rec *r = cg_res_take(k, CG_RES_MEM, NULL);
    assert_null(r);
    r = cg_res_take(k, CG_RES_HOST, NULL);
    assert_true(r != NULL && r->mod == M + 1 && r->bytes == 256);
    cg_res_done(r, 1);
    assert_null(cg_res_take(k, CG_RES_HOST, NULL));
    r = cg_res_take(other, CG_RES_MEM, NULL);
    assert_non_null(r);
    cg_res_done(r, 1);
}

/* Risk 1: a record a reclaim has claimed stays in the table; a free of it meanwhile is told to leave
 * the object to the reclaim (the fast path hands it on: its type is marked), until the address is
 * handed out again, after which a free of it is the new object's. Claimed records are neither
 * counted nor claimed twice, and a real reset does not unlink them from under their claimer. */
static void claimed_record_left_to_its_reclaim(void **s)
{
    (void)s;
    uintptr_t k = 0x7f0000800000;
    unsigned int gen = cg_ctx_gen_of(DEV);
    cg_res_add(M, 1, CG_RES_MEM, CG_RES_RUNTIME, k, 512, NULL);
    cg_res_add(M, 1, CG_RES_STREAM, CG_RES_RUNTIME, k + 64, 0, NULL);
    struct cg_res_claim c[4];
    assert_int_equal(cg_res_claim(M, DEV, gen, 0, c, 4), 1); /* memory only */
    assert_true(c[0].v.key == k && c[0].v.type == CG_RES_MEM && c[0].v.bytes == 512);
    assert_int_equal(cg_res_claim(M, DEV, gen, 0, c + 1, 3), 0); /* not twice */
    assert_int_equal(live(), 0);
    int busy = 0, reclaiming = 0;
    assert_null(cg_res_take_in(k, CG_RES_MEM, &busy));
    assert_int_equal(busy, 1);
    assert_null(cg_res_take(k, CG_RES_MEM, &reclaiming));
    assert_int_equal(reclaiming, 1);
    cg_res_retire(DEV); /* a reset of the same incarnation's device would retire it: not a claimed one */
    /* the reclaim's free is done and the driver hands k to another module */
    cg_res_add(M + 1, 1, CG_RES_MEM, CG_RES_RUNTIME, k, 1024, NULL);
    reclaiming = 0;
    struct cg_res_rec *r = cg_res_take(k, CG_RES_MEM, &reclaiming);
    assert_int_equal(reclaiming, 0);
    assert_true(r != NULL && r->mod == M + 1 && r->bytes == 1024);
    cg_res_done(r, 1);
    cg_res_unclaim(c[0].rec);
    assert_null(cg_res_take(k, CG_RES_MEM, &reclaiming));
    assert_int_equal(reclaiming, 0);
    r = cg_res_take(k + 64, CG_RES_STREAM, NULL);
    assert_non_null(r);
    cg_res_done(r, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(head_of_chain_taken_on_the_fast_path),
        cmocka_unit_test(deeper_record_left_to_the_slow_half),
        cmocka_unit_test(other_type_or_unknown_handle_not_taken),
        cmocka_unit_test(held_bucket_left_to_the_slow_half),
        cmocka_unit_test(spare_record_reused),
        cmocka_unit_test(reset_count_recorded),
        cmocka_unit_test(new_allocation_drops_a_stale_record),
        cmocka_unit_test(claimed_record_left_to_its_reclaim),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
