/* A library that only depends on libplugA.so (DT_NEEDED): loading it brings A in as a dependency,
 * an object dlopen never returned (tests/progs/reopen_host.c). */
__attribute__((visibility("default"))) int dep_marker(void)
{
    return 7;
}
