/* What a packager, an operator and an older distribution see of the built library: its glibc floor,
 * full RELRO, the library run as a program, `make install` into a multiarch LIBDIR under a prefix
 * with a space (then the installed command guards), and the library loaded and guarding under
 * Debian 11's loader and libc (glibc 2.31), fetched by scripts/old-glibc.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../include/ctxguard.h"
#include "harness.h"

#define ROOT BUILD_DIR "/.."
static struct run R;

static void sh(const char *cmd)
{
    run_prog(&R, 0, 0, NULL, (const char *const[]){"/bin/sh", "-c", cmd, NULL});
}

/* The floor README states: no reference of the library may need a glibc newer than 2.17 (x86_64,
 * where shim/compat/glibc_symver.h pins the versions). A new function whose default version is
 * newer fails here, naming it. */
static void glibc_floor(void **s)
{
    (void)s;
#if !defined(__x86_64__) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    skip(); /* a sanitizer build needs this glibc anyway (its runtime does): fstat is not pinned there */
#endif
    sh("objdump -T " SHIM " | grep -o '[A-Za-z0-9_]* *(\\?GLIBC_[0-9.]*)\\? *[A-Za-z0-9_]*$'");
    assert_int_equal(R.status, 0);
    int n = 0;
    for (char *line = strtok(R.out, "\n"); line; line = strtok(NULL, "\n")) {
        const char *v = strstr(line, "GLIBC_");
        unsigned major = 0, minor = 0;
        if (!v || sscanf(v, "GLIBC_%u.%u", &major, &minor) != 2)
            continue;
        n++;
        if (major > 2 || (major == 2 && minor > 17))
            fail_msg("needs a glibc newer than 2.17: %s (pin it in shim/compat/glibc_symver.h)", line);
    }
    assert_true(n > 10); /* the listing was read */
}

/* Full RELRO: relocations done at load (BIND_NOW), then the GOT made read-only (GNU_RELRO). */
static void full_relro(void **s)
{
    (void)s;
    sh("readelf -d " SHIM);
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "BIND_NOW"));
    sh("readelf -lW " SHIM);
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "GNU_RELRO"));
    /* and the command */
    sh("readelf -d " BUILD_DIR "/ctxguard");
    assert_non_null(strstr(R.out, "BIND_NOW"));
}

/* Run as a program, the library says its version, build and settings, and exits 0; a bad setting is
 * named and makes the status 1. Its version is also a string in the file. */
static void runs_as_program(void **s)
{
    (void)s;
    run_prog(&R, 0, 0, NULL, (const char *const[]){SHIM, NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "libctxguard " CTXGUARD_VERSION " "));
    assert_non_null(strstr(R.out, "running:  glibc "));
    assert_non_null(strstr(R.out, "CTXGUARD_MODE          guard (default)"));
    assert_non_null(strstr(R.out, "policy                 none"));
    assert_string_equal(R.err, "");
    run_prog(&R, 0, 0, (const char *const[]){"CTXGUARD_MODE=enforce", "CTXGUARD_LOG_LEVEL=loud",
                                             "CTXGUARD_RULES=deny @reset from libx.so; block @reset", NULL},
             (const char *const[]){SHIM, NULL});
    assert_int_equal(R.status, 1);
    assert_non_null(strstr(R.out, "CTXGUARD_MODE          enforce\n"));
    assert_non_null(strstr(R.out, "problem: ctxguard: CTXGUARD_LOG_LEVEL=\"loud\" is not valid"));
    assert_non_null(strstr(R.out, "policy                 2 rules\n"));
    sh("strings " SHIM " | grep -x '@(#) libctxguard " CTXGUARD_VERSION "'");
    assert_int_equal(R.status, 0);
}

/* make install with a multiarch LIBDIR (no DESTDIR: the command is run from where it was installed); then the installed command finds the installed
 * library and guards; the installed library runs as a program; uninstall removes what it put there.
 * A DESTDIR with a space: the files land below it. Built in a build directory of its own, so the
 * tree's build/ctxguard keeps its LIBDIR. */
static void install_multiarch(void **s)
{
    (void)s;
    /* make's B cannot hold a space, nor can the library's path (LD_PRELOAD splits at spaces: see
     * preload_path_with_space); DESTDIR can, below */
    char dir[] = "/tmp/ctxguard-install-XXXXXX", b[] = "/tmp/ctxguard-build-XXXXXX", cmd[4096];
    assert_non_null(mkdtemp(dir));
    assert_non_null(mkdtemp(b));
    snprintf(cmd, sizeof cmd,
             MAKE_CLEAN " -s -C '%s' -j2 B='%s' PREFIX='%s/usr' LIBDIR='%s/usr/lib/x86_64-linux-gnu' install >'%s/log' 2>&1 "
             "|| { cat '%s/log'; exit 1; }", ROOT, b, dir, dir, dir, dir);
    sh(cmd);
    if (R.status != 0)
        fail_msg("make install failed:\n%s%s", R.out, R.err);
    const char *files[] = {"usr/lib/x86_64-linux-gnu/libctxguard.so", "usr/bin/ctxguard", "usr/include/ctxguard.h",
                           "usr/share/man/man1/ctxguard.1", "usr/share/man/man7/libctxguard.7",
                           "usr/share/doc/ctxguard/README.md", "usr/share/doc/ctxguard/examples/ctxguard.rules",
                           "usr/share/doc/ctxguard/examples/systemd-ctxguard.conf",
                           "usr/share/doc/ctxguard/examples/ctxguard.logrotate"};
    const int nfiles = sizeof files / sizeof files[0];
    char p[1024];
    for (int i = 0; i < nfiles; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (access(p, R_OK) != 0)
            fail_msg("not installed: %s", p);
    }
    /* the example drop-in names the library where it was installed */
    snprintf(cmd, sizeof cmd, "grep -x 'Environment=LD_PRELOAD=%s/usr/lib/x86_64-linux-gnu/libctxguard.so' "
             "'%s/usr/share/doc/ctxguard/examples/systemd-ctxguard.conf'", dir, dir);
    sh(cmd);
    assert_int_equal(R.status, 0);
    /* the installed command, no CTXGUARD_LIBRARY, guards a plugin host */
    char bin[1024], lib[1024];
    snprintf(bin, sizeof bin, "%s/usr/bin/ctxguard", dir);
    snprintf(lib, sizeof lib, "%s/usr/lib/x86_64-linux-gnu/libctxguard.so", dir);
    run_prog(&R, 0, 0, NULL, (const char *const[]){bin, "run", "--", HOST, PLUG("A") ":setup", PLUG("B") ":reset",
                                                   PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", "libplugB.so", NULL}), 1);
    run_prog(&R, 0, 0, NULL, (const char *const[]){bin, "run", "/bin/sh", "-c", "echo \"$LD_PRELOAD\"", NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, lib));
    run_prog(&R, 0, 0, NULL, (const char *const[]){lib, NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, lib));
    snprintf(cmd, sizeof cmd, MAKE_CLEAN " -s -C '%s' B='%s' PREFIX='%s/usr' LIBDIR='%s/usr/lib/x86_64-linux-gnu' uninstall",
             ROOT, b, dir, dir);
    sh(cmd);
    assert_int_equal(R.status, 0);
    for (int i = 0; i < nfiles; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (access(p, F_OK) == 0)
            fail_msg("left behind by uninstall: %s", p);
    }
    /* DESTDIR with a space, the layout a Debian package gets */
    snprintf(cmd, sizeof cmd, MAKE_CLEAN " -s -C '%s' B='%s' DESTDIR='%s/dest dir' PREFIX=/usr "
             "LIBDIR=/usr/lib/x86_64-linux-gnu install >/dev/null && test -x '%s/dest dir/usr/lib/x86_64-linux-gnu/libctxguard.so' "
             "&& test -x '%s/dest dir/usr/bin/ctxguard'", ROOT, b, dir, dir, dir);
    sh(cmd);
    assert_int_equal(R.status, 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, b);
    sh(cmd);
    assert_int_equal(R.status, 0);
}

/* The installed examples are valid for the tools that read them: logrotate parses the snippet, and
 * systemd (systemd-analyze verify, on a unit the drop-in extends) reads the drop-in without a
 * complaint. Each part skipped where its tool is missing. */
static void examples_parse(void **s)
{
    (void)s;
    int ran = 0;
    sh("command -v logrotate");
    if (R.status == 0) {
        ran++;
        sh("logrotate -d -s /dev/null " ROOT "/docs/examples/ctxguard.logrotate");
        if (R.status != 0 || strstr(R.err, "error"))
            fail_msg("logrotate rejects docs/examples/ctxguard.logrotate:\n%s", R.err);
        assert_non_null(strstr(R.err, "rotating pattern: /var/log/ctxguard/*.jsonl"));
    }
    sh("command -v systemd-analyze");
    if (R.status == 0) {
        ran++;
        char dir[] = "/tmp/ctxguard-unit-XXXXXX", cmd[2048];
        assert_non_null(mkdtemp(dir));
        snprintf(cmd, sizeof cmd,
                 "mkdir '%s/plugin-host.service.d' && printf '[Service]\nExecStart=/bin/true\n' >'%s/plugin-host.service' && "
                 "sed 's|@LIBDIR@|/usr/lib|' " ROOT "/docs/examples/systemd-ctxguard.conf >'%s/plugin-host.service.d/ctxguard.conf' && "
                 "SYSTEMD_UNIT_PATH='%s:' systemd-analyze verify --man=no plugin-host.service 2>&1 | grep ctxguard.conf; "
                 "rm -rf '%s'", dir, dir, dir, dir, dir);
        sh(cmd);
        if (R.out[0])
            fail_msg("systemd complains about docs/examples/systemd-ctxguard.conf:\n%s", R.out);
    }
    if (!ran)
        skip();
}

/* LD_PRELOAD splits its value at spaces and colons, and the loader then only warns that the pieces
 * cannot be preloaded: the program would run unguarded. ctxguard run refuses such a path instead. */
static void preload_path_with_space(void **s)
{
    (void)s;
    char dir[] = "/tmp/ctxguard lib XXXXXX", cmd[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "cp " SHIM " '%s/libctxguard.so' && CTXGUARD_LIBRARY='%s/libctxguard.so' "
             BUILD_DIR "/ctxguard run -- /bin/true", dir, dir);
    sh(cmd);
    assert_int_equal(R.status, 2);
    assert_non_null(strstr(R.err, "where the loader splits LD_PRELOAD"));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
}

/* Debian 11's loader and libc (glibc 2.31), with the fakes, plugins and host built against that libc
 * (scripts/old-glibc.sh): the library built here loads, and guards exactly as on this machine. */
static void old_glibc_loader(void **s)
{
    (void)s;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    fprintf(stderr, "SKIP old_glibc_loader: a sanitizer runtime needs this machine's glibc\n");
    skip();
#endif
    sh(ROOT "/scripts/old-glibc.sh " BUILD_DIR "/glibc-2.31");
    if (R.status == 77) {
        fprintf(stderr, "\n********************************************************************\n"
                        "SKIP old_glibc_loader: Debian 11's libc could not be fetched\n%s"
                        "********************************************************************\n\n", R.err);
        skip();
    }
    if (R.status != 0)
        fail_msg("scripts/old-glibc.sh failed (%d):\n%s", R.status, R.err);
    char loader[1024], libpath[2048], b[1024];
    assert_int_equal(sscanf(R.out, "%1023s %2047s %1023s", loader, libpath, b), 3);
    char plug[4][1100];
    const char *names[4] = {"A", "B", "S1", "S2"};
    for (int i = 0; i < 4; i++)
        snprintf(plug[i], sizeof plug[i], "%s/plugins/libplug%s.so", b, names[i]);
    char host[1100];
    snprintf(host, sizeof host, "%s/progs/plugin_host", b);
    char a_setup[1200], b_reset[1200], a_check[1200], s1_setup[1200], s2_reset[1200], s1_check[1200];
    snprintf(a_setup, sizeof a_setup, "%s:setup", plug[0]);
    snprintf(b_reset, sizeof b_reset, "%s:reset", plug[1]);
    snprintf(a_check, sizeof a_check, "%s:check", plug[0]);
    snprintf(s1_setup, sizeof s1_setup, "%s:setup", plug[2]);
    snprintf(s2_reset, sizeof s2_reset, "%s:reset", plug[3]);
    snprintf(s1_check, sizeof s1_check, "%s:check", plug[2]);

    /* it is glibc 2.31 that runs, and the library is loaded by it */
    run_prog(&R, 1, 0, NULL, (const char *const[]){loader, "--library-path", libpath, "--list", host, NULL});
    assert_int_equal(R.status, 0);
    char want[2100];
    snprintf(want, sizeof want, "libc.so.6 => %s/libc.so.6", strtok(strdup(libpath), ":"));
    if (!strstr(R.out, want))
        fail_msg("libc.so.6 is not Debian 11's:\n%s", R.out);
    assert_non_null(strstr(R.out, SHIM));
    run_prog(&R, 0, 0, NULL, (const char *const[]){loader, "--library-path", libpath, SHIM, NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "running:  glibc 2.31\n"));

    /* shared runtime: bare, B's reset loses A's data; guarded, blocked once, A intact */
    const char *const shared[] = {loader, "--library-path", libpath, host, a_setup, b_reset, a_check, NULL};
    run_prog(&R, 0, 0, NULL, shared);
    assert_int_equal(R.status, 1);
    run_prog(&R, 1, 0, NULL, shared);
    if (R.status != 0 || count_lines_with(R.err, (const char *const[]){" tid=", " block ", NULL}) != 1 ||
        count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", "caller=", "libplugB.so",
                                                      "shared_with=[", "libplugA.so]", NULL}) != 1)
        fail_msg("guarded run under glibc 2.31: status %d, want 0 and one block of B's reset:\n%s", R.status, R.err);
    /* static runtimes: S2's driver-level reset (reached through cuGetProcAddress) blocked */
    const char *const statics[] = {loader, "--library-path", libpath, host, s1_setup, s2_reset, s1_check, NULL};
    run_prog(&R, 0, 0, NULL, statics);
    assert_int_equal(R.status, 1);
    run_prog(&R, 1, 0, NULL, statics);
    if (R.status != 0 || count_lines_with(R.err, (const char *const[]){" tid=", " block ", NULL}) != 1 ||
        count_lines_with(R.err, (const char *const[]){"block driver cuDevicePrimaryCtxReset", "libplugS2.so",
                                                      "libplugS1.so]", NULL}) != 1)
        fail_msg("guarded static run under glibc 2.31: status %d, want 0 and one block of S2's reset:\n%s", R.status,
                 R.err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glibc_floor),
        cmocka_unit_test(full_relro),
        cmocka_unit_test(runs_as_program),
        cmocka_unit_test(install_multiarch),
        cmocka_unit_test(preload_path_with_space),
        cmocka_unit_test(examples_parse),
        cmocka_unit_test(old_glibc_loader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
