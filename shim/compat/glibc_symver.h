/* Forced into every object of the library (the Makefile's -include), so that the library built on a
 * new glibc also loads on an old one (Debian 11 / Ubuntu 20.04: glibc 2.31).
 *
 * glibc 2.34 moved libdl and libpthread into libc and gave the moved functions new default versions
 * (dladdr@@GLIBC_2.34, ...); 2.33 made fstat a real function where it had been an inline call of
 * __fxstat. Linked as they are, those references need GLIBC_2.34 / 2.33, and an older loader refuses
 * the library — and, as a preload, every process. The old versions are all still exported, so each
 * reference is bound to the version that every glibc since 2.17 has (the library's floor, which
 * clock_gettime and secure_getenv set; tests/glibc-floor.sh checks it). The Makefile links libdl.so.2
 * and libpthread.so.0 explicitly: on an old glibc the functions live there, not in libc.
 *
 * Only what the code uses is pinned (an unused pin would add a reference of its own); a new use of
 * a function whose default version is newer than the floor fails tests/glibc-floor.sh, and is then
 * added here. Nothing here includes a header: that would fix the feature macros before the source
 * sets _GNU_SOURCE. CG_BUILD_GLIBC (major*100 + minor of the glibc built against) comes from the
 * Makefile. x86_64 only, the one architecture built and tested. */
#ifndef CTXGUARD_GLIBC_SYMVER_H
#define CTXGUARD_GLIBC_SYMVER_H

#if defined(__x86_64__) && defined(CG_BUILD_GLIBC) && !defined(__ASSEMBLER__)

#if CG_BUILD_GLIBC >= 234
__asm__(".symver dladdr,dladdr@GLIBC_2.2.5");
__asm__(".symver dladdr1,dladdr1@GLIBC_2.3.3");
__asm__(".symver dlinfo,dlinfo@GLIBC_2.3.3");
__asm__(".symver dlvsym,dlvsym@GLIBC_2.2.5");
__asm__(".symver pthread_once,pthread_once@GLIBC_2.2.5");
__asm__(".symver pthread_key_create,pthread_key_create@GLIBC_2.2.5");
__asm__(".symver pthread_setspecific,pthread_setspecific@GLIBC_2.2.5");
#endif

/* Not in a sanitizer build (its runtime needs this glibc anyway): ld binds __fxstat@GLIBC_2.2.5 to
 * libtsan's unversioned __fxstat and leaves a corrupt local entry in .dynsym (binutils 2.40). */
#if CG_BUILD_GLIBC >= 233 && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
/* fstat(fd, st) is __fxstat(_STAT_VER_LINUX = 1, fd, st) on x86_64, as glibc < 2.33 inlined it. */
struct stat;
extern int cg_glibc_fxstat(int ver, int fd, struct stat *st);
__asm__(".symver cg_glibc_fxstat,__fxstat@GLIBC_2.2.5");
static inline int cg_glibc_fstat(int fd, struct stat *st)
{
    return cg_glibc_fxstat(1, fd, st);
}
#define fstat cg_glibc_fstat
/* stat and lstat likewise: __xstat / __lxstat before 2.33 */
extern int cg_glibc_xstat(int ver, const char *path, struct stat *st);
extern int cg_glibc_lxstat(int ver, const char *path, struct stat *st);
__asm__(".symver cg_glibc_xstat,__xstat@GLIBC_2.2.5");
__asm__(".symver cg_glibc_lxstat,__lxstat@GLIBC_2.2.5");
static inline int cg_glibc_stat(const char *path, struct stat *st)
{
    return cg_glibc_xstat(1, path, st);
}
static inline int cg_glibc_lstat(const char *path, struct stat *st)
{
    return cg_glibc_lxstat(1, path, st);
}
#define stat(p, s) cg_glibc_stat(p, s)
#define lstat(p, s) cg_glibc_lstat(p, s)
#endif

#endif
#endif
