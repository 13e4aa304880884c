/* A stand-in NVTX library with the entry points ctxguard uses, recording what it is given: "loaded" when
 * it is loaded, "domain NAME" per domain created, "mark COLOR MESSAGE" per mark, appended to the file
 * named by FAKE_NVTX_OUT. Lets the tests check CTXGUARD_NVTX without a tool. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define API __attribute__((visibility("default")))

struct attr { /* the NVTX v3 event-attribute layout */
    uint16_t version, size;
    uint32_t category;
    int32_t color_type;
    uint32_t color;
    int32_t payload_type, reserved0;
    uint64_t payload;
    int32_t message_type;
    const char *message;
};

static void put(const char *fmt, const char *a, unsigned int color)
{
    const char *path = getenv("FAKE_NVTX_OUT");
    if (!path)
        return;
    char line[1024];
    int n = color ? snprintf(line, sizeof line, fmt, color, a) : snprintf(line, sizeof line, fmt, a);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0 && n > 0) {
        if (write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) { /* test aid */ }
        close(fd);
    }
}

__attribute__((constructor)) static void loaded(void) { put("loaded%s\n", "", 0); }

static int the_domain;
API void *nvtxDomainCreateA(const char *name)
{
    put("domain %s\n", name, 0);
    return &the_domain;
}

API void nvtxDomainMarkEx(void *domain, const struct attr *a)
{
    if (domain != &the_domain || a->version != 3 || a->size != sizeof *a || a->message_type != 1) {
        put("bad-attributes%s\n", "", 0);
        return;
    }
    put("mark %08X %s\n", a->message, a->color);
}

API void nvtxMarkA(const char *message) { put("markA %s\n", message, 0); }
