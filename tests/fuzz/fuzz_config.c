/* libFuzzer target: CTXGUARD_* parsing with arbitrary values for every variable. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/config.h"

#define NVARS 12
static char vals[NVARS][512];
static const char *const names[NVARS] = {"CTXGUARD_MODE", "CTXGUARD_LOG", "CTXGUARD_LOG_FORMAT", "CTXGUARD_LOG_LEVEL",
                                         "CTXGUARD_STRICT", "CTXGUARD_SUMMARY", "CTXGUARD_RULES", "CTXGUARD_CONFIG",
                                         "CTXGUARD_DUMP", "CTXGUARD_DUMP_EVENTS", "CTXGUARD_NVTX", "CTXGUARD_NVTX_LIB"};
static int present;

static const char *get(const char *name)
{
    for (int i = 0; i < NVARS; i++)
        if (strcmp(name, names[i]) == 0)
            return (present >> i) & 1 ? vals[i] : NULL;
    return NULL;
}

static void complain(const char *line)
{
    if (strlen(line) > 600 || strchr(line, '\n'))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    present = data[0] | data[1] << 8;
    size_t off = 2;
    for (int i = 0; i < NVARS; i++) {
        size_t n = 0;
        while (off < size && data[off] != 0xff && n < sizeof vals[i] - 1)
            vals[i][n++] = data[off] ? (char)data[off] : 'x';
        vals[i][n] = '\0';
        off++;
    }
    struct cg_config c;
    cg_config_parse(&c, get, 4242, complain);
    if (c.mode > CG_MODE_ENFORCE || c.level > CG_LEVEL_DEBUG || c.format > CG_FORMAT_JSON || c.sink > CG_SINK_FILE)
        __builtin_trap();
    if (c.sink == CG_SINK_FILE && strlen(c.log_path) >= CG_PATH_MAX)
        __builtin_trap();
    if (c.dump_events < 16 || c.dump_events > 65536 || (c.nvtx != 0 && c.nvtx != 1) ||
        strlen(c.dump_path) >= CG_PATH_MAX || strlen(c.nvtx_lib) >= CG_PATH_MAX)
        __builtin_trap();
    return 0;
}
