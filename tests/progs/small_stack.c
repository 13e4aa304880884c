/* Starts one thread with a small stack (the size in bytes is the argument), as Python's
 * threading.stack_size() or a runtime with many small threads does. glibc carves every loaded
 * object's static TLS out of that stack: a preload with a large static TLS makes the start fail.
 * Exit 0 when the thread ran, 1 with the error otherwise. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *run(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? (size_t)atol(argv[1]) : 32768;
    pthread_attr_t a;
    pthread_t t;
    pthread_attr_init(&a);
    int r = pthread_attr_setstacksize(&a, size);
    if (r == 0)
        r = pthread_create(&t, &a, run, NULL);
    if (r == 0)
        r = pthread_join(t, NULL);
    if (r != 0) {
        fprintf(stderr, "small_stack: a thread with a %zu-byte stack: %s\n", size, strerror(r));
        return 1;
    }
    return 0;
}
