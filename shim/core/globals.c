/* The process-wide state every layer reads (core.h). Defined here, at the bottom, so that no layer
 * reaches up into init.c for it; init.c only writes it, once. */
#include "core/core.h"

__thread struct cg_tls cg_tls __attribute__((tls_model("initial-exec"), aligned(64))) = {.dev = -1, .mod = -1};
int cg_ready;
int cg_log_all;
struct cg_config cg_cfg;
