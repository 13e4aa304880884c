/* Parsing of the CTXGUARD_* variables. Pure: no I/O of its own, so tests can drive it directly. */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

struct choice {
    const char *word;
    int value;
};

static const struct choice modes[] = {
    {"observe", CG_MODE_OBSERVE}, {"guard", CG_MODE_GUARD}, {"enforce", CG_MODE_ENFORCE}, {NULL, 0}};
static const struct choice levels[] = {
    {"quiet", CG_LEVEL_QUIET}, {"info", CG_LEVEL_INFO}, {"debug", CG_LEVEL_DEBUG}, {NULL, 0}};
static const struct choice formats[] = {{"text", CG_FORMAT_TEXT}, {"json", CG_FORMAT_JSON}, {NULL, 0}};
/* syslog's facility codes (<syslog.h>: LOG_USER = 1<<3, LOG_DAEMON = 3<<3, LOG_LOCAL0 = 16<<3) */
static const struct choice facilities[] = {
    {"user", 1 << 3},    {"daemon", 3 << 3},  {"local0", 16 << 3}, {"local1", 17 << 3}, {"local2", 18 << 3},
    {"local3", 19 << 3}, {"local4", 20 << 3}, {"local5", 21 << 3}, {"local6", 22 << 3}, {"local7", 23 << 3},
    {NULL, 0}};

const char *cg_mode_name(enum cg_mode m)
{
    return modes[m].word;
}

/* Writes `value` into a complaint safely: control and non-ASCII bytes become \xNN, and a very long
 * value is cut, so a hostile environment cannot forge or flood log lines. */
static void quote_value(char *out, size_t cap, const char *v)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p && o + 8 < cap; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
        else
            out[o++] = (char)*p;
        if (o > 120) {
            o += (size_t)snprintf(out + o, cap - o, "...");
            break;
        }
    }
    out[o] = '\0';
}

static int complain(cg_complain_fn fn, const char *var, const char *value, const char *expected,
                    const char *fallback)
{
    char q[200], line[512];
    quote_value(q, sizeof q, value);
    snprintf(line, sizeof line, "ctxguard: %s=\"%s\" is not valid: expected %s; using %s", var, q,
             expected, fallback);
    if (fn)
        fn(line);
    return 1;
}

static int pick(const struct choice *c, const char *var, const char *v, int *out, const char *expected,
                cg_complain_fn fn)
{
    if (v == NULL)
        return 0;
    for (const struct choice *e = c; e->word; e++)
        if (strcmp(e->word, v) == 0) {
            *out = e->value;
            return 0;
        }
    const char *fallback = "the default";
    for (const struct choice *d = c; d->word; d++)
        if (d->value == *out)
            fallback = d->word;
    return complain(fn, var, v, expected, fallback);
}

/* A path with %p -> pid and %% -> %, no control bytes, shorter than CG_PATH_MAX. 0 on success. */
static int expand_path(char *out, const char *v, long pid)
{
    size_t o = 0;
    if (*v == '\0')
        return -1;
    for (const char *p = v; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            return -1;
        if (p[0] == '%' && (p[1] == 'p' || p[1] == '%')) {
            int n = p[1] == 'p' ? snprintf(out + o, CG_PATH_MAX - o, "%ld", pid) : snprintf(out + o, CG_PATH_MAX - o, "%%");
            if (n < 0 || (size_t)n >= CG_PATH_MAX - o)
                return -1;
            o += (size_t)n;
            p++;
            continue;
        }
        if (o + 1 >= CG_PATH_MAX)
            return -1;
        out[o++] = *p;
    }
    out[o] = '\0';
    return 0;
}

/* CTXGUARD_LOG: stderr | syslog | a path, %p -> pid, %% -> %. Must be absolute or relative path
 * without control bytes; the expansion must fit CG_PATH_MAX. */
static int parse_log(struct cg_config *cfg, const char *v, long pid, cg_complain_fn fn)
{
    if (v == NULL)
        return 0;
    /* /dev/stderr is a symlink (to /proc/self/fd/2), which a log path may not be: it means stderr */
    if (strcmp(v, "stderr") == 0 || strcmp(v, "/dev/stderr") == 0 || strcmp(v, "/dev/fd/2") == 0) {
        cfg->sink = CG_SINK_STDERR;
        return 0;
    }
    if (strcmp(v, "syslog") == 0) {
        cfg->sink = CG_SINK_SYSLOG;
        return 0;
    }
    if (expand_path(cfg->log_path, v, pid) != 0) {
        cfg->log_path[0] = '\0';
        return complain(fn, "CTXGUARD_LOG", v,
                        "stderr, syslog, or a file path (%p becomes the pid) without control bytes, shorter "
                        "than 1024 bytes", "stderr");
    }
    cfg->sink = CG_SINK_FILE;
    if (strstr(v, "%p"))
        snprintf(cfg->log_tmpl, sizeof cfg->log_tmpl, "%s", v);
    return 0;
}

int cg_config_repid(struct cg_config *cfg, long pid)
{
    int moved = 0;
    if (cfg->log_tmpl[0] && expand_path(cfg->log_path, cfg->log_tmpl, pid) == 0)
        moved |= 1;
    if (cfg->dump_tmpl[0] && expand_path(cfg->dump_path, cfg->dump_tmpl, pid) == 0)
        moved |= 2;
    return moved;
}

/* A 0/1 switch: *out keeps its default when the variable is unset or bad (then one complaint). */
static int flag(cg_getenv_fn get, const char *var, int *out, const char *fallback, cg_complain_fn fn)
{
    const char *v = get(var);
    if (v == NULL)
        return 0;
    if (strcmp(v, "0") == 0 || strcmp(v, "1") == 0) {
        *out = v[0] - '0';
        return 0;
    }
    return complain(fn, var, v, "0 or 1", fallback);
}

int cg_config_parse(struct cg_config *cfg, cg_getenv_fn get, long pid, cg_complain_fn fn)
{
    int bad = 0, v;
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = CG_MODE_GUARD;
    cfg->level = CG_LEVEL_INFO;
    cfg->format = CG_FORMAT_TEXT;
    cfg->sink = CG_SINK_STDERR;

    v = cfg->mode;
    bad += pick(modes, "CTXGUARD_MODE", get("CTXGUARD_MODE"), &v, "observe, guard or enforce", fn);
    cfg->mode = (enum cg_mode)v;
    v = cfg->level;
    bad += pick(levels, "CTXGUARD_LOG_LEVEL", get("CTXGUARD_LOG_LEVEL"), &v, "quiet, info or debug", fn);
    cfg->level = (enum cg_level)v;
    v = cfg->format;
    bad += pick(formats, "CTXGUARD_LOG_FORMAT", get("CTXGUARD_LOG_FORMAT"), &v, "text or json", fn);
    cfg->format = (enum cg_format)v;
    bad += parse_log(cfg, get("CTXGUARD_LOG"), pid, fn);
    bad += flag(get, "CTXGUARD_STRICT", &cfg->strict, "0", fn);
    cfg->summary = -1;
    bad += flag(get, "CTXGUARD_SUMMARY", &cfg->summary, "a summary only when something was blocked or denied", fn);
    const char *dump = get("CTXGUARD_DUMP");
    if (dump && expand_path(cfg->dump_path, dump, pid) != 0) {
        cfg->dump_path[0] = '\0';
        bad += complain(fn, "CTXGUARD_DUMP", dump, "a file path (%p becomes the pid), shorter than 1024 bytes", "no dumps");
    } else if (dump && strstr(dump, "%p"))
        snprintf(cfg->dump_tmpl, sizeof cfg->dump_tmpl, "%s", dump);
    bad += flag(get, "CTXGUARD_NVTX", &cfg->nvtx, "0 (no NVTX marks)", fn);
    bad += flag(get, "CTXGUARD_RECLAIM", &cfg->reclaim, "0 (a blocked reset frees nothing)", fn);
    const char *nvtx_lib = get("CTXGUARD_NVTX_LIB");
    if (nvtx_lib && expand_path(cfg->nvtx_lib, nvtx_lib, pid) != 0) {
        cfg->nvtx_lib[0] = '\0';
        bad += complain(fn, "CTXGUARD_NVTX_LIB", nvtx_lib,
                        "a library name or path without control bytes, shorter than 1024 bytes",
                        "libnvToolsExt.so.1, then libnvtx3interop.so.1");
    }
    cfg->dump_events = 4096;
    const char *events = get("CTXGUARD_DUMP_EVENTS");
    if (events) {
        char *end = NULL;
        errno = 0;
        long n = strtol(events, &end, 10);
        if (errno || end == events || *end != '\0' || n < 16 || n > 65536 || events[0] < '0' || events[0] > '9')
            bad += complain(fn, "CTXGUARD_DUMP_EVENTS", events, "a whole number from 16 to 65536", "4096");
        else
            cfg->dump_events = (int)n;
    }
    v = 1 << 3;
    bad += pick(facilities, "CTXGUARD_SYSLOG_FACILITY", get("CTXGUARD_SYSLOG_FACILITY"), &v,
                "user, daemon or local0 to local7", fn);
    cfg->syslog_facility = v;
    const char *sock = get("CTXGUARD_SYSLOG_SOCKET");
    if (sock && (sock[0] != '/' || strlen(sock) >= sizeof cfg->syslog_socket))
        bad += complain(fn, "CTXGUARD_SYSLOG_SOCKET", sock, "an absolute socket path shorter than 108 bytes (for tests)",
                        "/dev/log");
    else if (sock)
        snprintf(cfg->syslog_socket, sizeof cfg->syslog_socket, "%s", sock);
    cfg->log_mode = 0600;
    const char *lm = get("CTXGUARD_LOG_MODE");
    if (lm) {
        /* octal digits only (no sign, no spaces, no 0o or 0x), at most 0777: no setuid or sticky bits */
        size_t k = strspn(lm, "01234567");
        unsigned long m = k ? strtoul(lm, NULL, 8) : 0;
        if (k == 0 || lm[k] != '\0' || k > 4 || m > 0777)
            bad += complain(fn, "CTXGUARD_LOG_MODE", lm, "an octal file mode from 0 to 0777, such as 0640", "0600");
        else
            cfg->log_mode = (unsigned int)m;
    }
    const char *ec = get("CTXGUARD_EXIT_CODE");
    if (ec) {
        size_t k = strspn(ec, "0123456789");
        long n = k && k <= 3 ? strtol(ec, NULL, 10) : 0;
        if (k == 0 || ec[k] != '\0' || k > 3 || n < 1 || n > 255)
            bad += complain(fn, "CTXGUARD_EXIT_CODE", ec, "a whole number from 1 to 255", "the program's own exit status");
        else
            cfg->exit_code = (int)n;
    }
    cfg->rules = get("CTXGUARD_RULES");
    const char *conf = get("CTXGUARD_CONFIG");
    if (conf && *conf == '\0')
        bad += complain(fn, "CTXGUARD_CONFIG", conf, "the path of a policy file", "no policy file");
    else
        cfg->config = conf;
    return bad;
}
