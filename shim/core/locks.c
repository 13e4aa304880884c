/* The lock registry (locks.h): one array, so the fork handlers cannot miss one. */
#include "core/locks.h"

pthread_mutex_t cg_locks[CG_LOCK_COUNT] = {
    [0 ... CG_LOCK_COUNT - 1] = PTHREAD_MUTEX_INITIALIZER,
};

void cg_locks_take_all(void)
{
    for (int i = 0; i < CG_LOCK_COUNT; i++)
        pthread_mutex_lock(&cg_locks[i]);
}

void cg_locks_release_all(void)
{
    for (int i = CG_LOCK_COUNT - 1; i >= 0; i--)
        pthread_mutex_unlock(&cg_locks[i]);
}
