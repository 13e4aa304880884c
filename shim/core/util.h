/* Small helpers every layer uses. */
#ifndef CTXGUARD_UTIL_H
#define CTXGUARD_UTIL_H

#include <string.h>

/* The file name of a path ("/a/b/libx.so" -> "libx.so"); the path itself when it has no '/'. */
static inline const char *cg_basename(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

#endif
