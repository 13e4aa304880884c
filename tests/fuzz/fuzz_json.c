/* libFuzzer target: the event writer. Whatever bytes a module path, a call name or a reason holds,
 * a JSON line must be one valid JSON object and a text line one line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "harness.h"
#include "report/log.h"
#include "track/modules.h"
#include "track/state.h"

static char paths[3][CG_PATH_MAX]; /* format.c reads module paths through cg_module_path */
const char *cg_module_path(int m)
{
    return m > 0 && m < 3 ? paths[m] : "(unknown)";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* input: path1 \0 path2 \0 call \0 reason, each cut to its field */
    char parts[4][CG_PATH_MAX];
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        size_t n = 0;
        while (off < size && data[off] && n < CG_PATH_MAX - 1)
            parts[i][n++] = (char)data[off++];
        parts[i][n] = '\0';
        while (off < size && data[off])
            off++;
        off++;
    }
    memcpy(paths[1], parts[0], sizeof parts[0]);
    memcpy(paths[2], parts[1], sizeof parts[1]);
    struct cg_event ev = {.api = size & 1, .call = parts[2], .device = (int)(size % 3) - 1,
                          .ctx = (void *)(uintptr_t)size, .ctx_kind = (int)(size % 4), .shared_count = (int)(size % 7), .shared_with = {2, 1, 2, 1, 2, 1},
                          .caller = 1, .action = (int)(size % 4), .result = (int)size, .destructive = 1,
                          .reason = parts[3], .decided_by = parts[2], .ctx_gen = (unsigned int)(size % 5)};
    struct timespec ts = {(time_t)size * 7919, (long)(size % 1000000000)};
    struct cg_head H = {&ts, NULL, -1, 1, size, "2025-11-25T12:00:00.000001Z", parts[1], "0.2.0"};
    static char buf[8192];
    for (size_t cap = 64; cap <= sizeof buf; cap *= 4) {
        size_t n = cg_format_event(buf, cap, &ev, CG_FORMAT_JSON, &H, 2);
        if (n >= cap || strlen(buf) != n)
            __builtin_trap();
        if (cap >= 4096 && !json_valid(buf, n))
            __builtin_trap();
        n = cg_format_event(buf, cap, &ev, CG_FORMAT_TEXT, &H, 2);
        if (n >= cap || memchr(buf, '\n', n))
            __builtin_trap();
        /* ctxguard's own messages and summary lines, whatever text they carry */
        struct cg_head N = H;
        N.event = "message";
        N.sev = 4;
        n = cg_format_note(buf, cap, &N, parts[3], CG_FORMAT_JSON);
        if (n >= cap || strlen(buf) != n || (cap >= 256 && !json_valid(buf, n)))
            __builtin_trap();
        n = cg_format_note(buf, cap, &N, parts[0], CG_FORMAT_TEXT);
        if (n >= cap || memchr(buf, '\n', n))
            __builtin_trap();
    }
    return 0;
}
