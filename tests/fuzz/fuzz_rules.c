/* libFuzzer target: the policy parser and matcher on arbitrary bytes (both separators). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decide/rules.h"

static struct cg_ruleset rs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int semis = 0; semis < 2; semis++) {
        memset(&rs, 0, sizeof rs);
        cg_rules_parse(&rs, (const char *)data, size, "fuzz", semis, NULL);
        if (rs.n < 0 || rs.n > CG_MAX_RULES)
            __builtin_trap();
        static const char *const calls[] = {"cudaDeviceReset", "cuDevicePrimaryCtxReset_v2", "cuCtxDestroy", "cudaSetDevice"};
        for (int i = 0; i < 4; i++)
            for (int sit = 0; sit <= CG_SIT_NONE; sit++)
                cg_rules_match(&rs, calls[i], "/opt/x/libplugB.so", sit);
    }
    return 0;
}
