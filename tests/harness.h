/* Test helpers: run a program with a given environment and capture its output; read JSON lines. */
#ifndef CTXGUARD_TEST_HARNESS_H
#define CTXGUARD_TEST_HARNESS_H

#include <stddef.h>

#ifndef BUILD_DIR
#error "BUILD_DIR must be defined (absolute path of the build directory)"
#endif
#define SHIM BUILD_DIR "/libctxguard.so"
#define PLUG(x) BUILD_DIR "/plugins/libplug" x ".so"
#define HOST BUILD_DIR "/progs/plugin_host"
#define CUDA_HOST BUILD_DIR "/progs/cuda_host"

/* make, run by a test, without what a make around the test suite passes down (its command-line
 * variables reach the test through MAKEFLAGS and the environment: B=, SAN=, LIBDIR= of a package
 * build); the test names what it wants */
#define MAKE_CLEAN                                                                                        \
    "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u B -u SAN -u PREFIX -u LIBDIR -u BINDIR -u INCLUDEDIR "    \
    "-u MANDIR -u DOCDIR -u DESTDIR make"

struct run {
    int status;        /* exit status, or 128+signal */
    char out[1 << 16]; /* stdout */
    char err[1 << 16]; /* stderr */
    char *log;         /* contents of the CTXGUARD_LOG file the harness set, if any (malloc'ed) */
};

/* Runs argv with the current environment minus LD_PRELOAD and CTXGUARD_*, plus `env` (NULL-ended
 * "K=V" list). preload=1 adds LD_PRELOAD of the shim (after $CTXGUARD_TEST_PRELOAD_FIRST, used by
 * sanitizer builds). json_log=1 sets CTXGUARD_LOG_FORMAT=json and CTXGUARD_LOG to a temp file whose
 * contents land in r->log. */
void run_prog(struct run *r, int preload, int json_log, const char *const env[], const char *const argv[]);
/* When set, preloaded between $CTXGUARD_TEST_PRELOAD_FIRST and the shim (a test interposer). */
extern const char *run_preload_before_shim;

/* JSON: validates one complete JSON text (RFC 8259, UTF-8). Returns 1 if valid. */
int json_valid(const char *s, size_t n);

/* For a flat JSON object line: copies the raw JSON value of `key` into out (strings keep their
 * quotes); returns 1 if the key exists. */
int json_get(const char *line, const char *key, char *out, size_t cap);

/* Counts lines in `text` that contain every one of the NULL-ended needles. */
int count_lines_with(const char *text, const char *const needles[]);

#endif
