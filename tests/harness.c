#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;

static void slurp(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    lseek(fd, 0, SEEK_SET);
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap - 1)
            break;
    }
    buf[n] = '\0';
}

static int tmpfd(char *path)
{
    strcpy(path, "/tmp/ctxguard-test-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        exit(99);
    }
    return fd;
}

const char *run_preload_before_shim;

void run_prog(struct run *r, int preload, int json_log, const char *const env[], const char *const argv[])
{
    char outp[64], errp[64], logp[64];
    int out = tmpfd(outp), err = tmpfd(errp);
    logp[0] = '\0';
    if (json_log) {
        int l = tmpfd(logp);
        close(l);
        unlink(logp); /* ctxguard creates it (0600, O_NOFOLLOW) */
    }
    fflush(NULL);
    /* read before the child clears CTXGUARD_* from its environment */
    const char *first = getenv("CTXGUARD_TEST_PRELOAD_FIRST");
    const char *memcheck = getenv("CTXGUARD_TEST_MEMCHECK"); /* suppressions file: run under valgrind */
    pid_t pid = fork();
    if (pid == 0) {
        for (char **e = environ; *e;) {
            if (strncmp(*e, "CTXGUARD_", 9) == 0 || strncmp(*e, "LD_PRELOAD=", 11) == 0) {
                char name[256];
                size_t k = strcspn(*e, "=");
                snprintf(name, sizeof name, "%.*s", (int)k, *e);
                unsetenv(name);
                e = environ;
            } else
                e++;
        }
        if (preload) {
            char v[2048];
            snprintf(v, sizeof v, "%s%s%s%s%s", first ? first : "", first ? ":" : "",
                     run_preload_before_shim ? run_preload_before_shim : "", run_preload_before_shim ? ":" : "", SHIM);
            setenv("LD_PRELOAD", v, 1);
        }
        if (json_log) {
            setenv("CTXGUARD_LOG_FORMAT", "json", 1);
            setenv("CTXGUARD_LOG", logp, 1);
        }
        for (int i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        dup2(out, 1);
        dup2(err, 2);
        if (memcheck) {
            /* valgrind memcheck around the program: any error makes it exit 99 */
            /* every argument: a fixed 64 once cut test_edges' 1,041-step run to 14 cycles */
            int argc = 0;
            while (argv[argc])
                argc++;
            const char **vg = calloc((size_t)argc + 6, sizeof *vg);
            if (vg == NULL)
                _exit(127);
            vg[0] = "valgrind", vg[1] = "-q", vg[2] = "--error-exitcode=99", vg[3] = "--leak-check=no";
            char supp[1100];
            snprintf(supp, sizeof supp, "--suppressions=%s", memcheck);
            int k = 4;
            vg[k++] = supp;
            for (int i = 0; argv[i]; i++)
                vg[k++] = argv[i];
            vg[k] = NULL;
            execvp("valgrind", (char *const *)vg);
            _exit(127);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
    if (memcheck && (r->status == 99 || strstr(r->err, "== Invalid") || strstr(r->err, "== Conditional jump") ||
                     strstr(r->err, "== Syscall param") || strstr(r->err, "== Mismatched free"))) {
        /* the test binary links no cmocka here (the fuzzers share this file): abort, which cmocka
         * reports as this test's failure */
        fprintf(stderr, "memcheck found errors in %s:\n%s\n", argv[0], r->err);
        abort();
    }
    close(out);
    close(err);
    unlink(outp);
    unlink(errp);
    free(r->log);
    r->log = calloc(1, 1);
    if (json_log) {
        int l = open(logp, O_RDONLY);
        struct stat st;
        if (l >= 0 && fstat(l, &st) == 0) {
            free(r->log);
            r->log = malloc((size_t)st.st_size + 1);
            slurp(l, r->log, (size_t)st.st_size + 1);
            close(l);
        }
        unlink(logp);
    }
}

int count_lines_with(const char *text, const char *const needles[])
{
    int count = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char *copy = strndup(line, len);
        int all = 1;
        for (int i = 0; needles[i]; i++)
            if (!strstr(copy, needles[i]))
                all = 0;
        count += all;
        free(copy);
        if (!nl)
            break;
        line = nl + 1;
    }
    return count;
}

/* ---- a small strict JSON validator ---- */
struct js {
    const unsigned char *p, *end;
    int depth;
};

static void ws(struct js *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int value(struct js *j);

static int string(struct js *j)
{
    if (j->p >= j->end || *j->p != '"')
        return 0;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            j->p++;
            if (j->p >= j->end)
                return 0;
            c = *j->p;
            if (c == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (j->p + i >= j->end || !strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i])
                        return 0;
                j->p += 5;
                continue;
            }
            if (!strchr("\"\\/bfnrt", c) || !c)
                return 0;
            j->p++;
            continue;
        }
        if (c < 0x80) {
            j->p++;
            continue;
        }
        int n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (n == 0 || (n == 2 && c < 0xc2) || j->p + n > j->end)
            return 0;
        for (int i = 1; i < n; i++)
            if ((j->p[i] & 0xc0) != 0x80)
                return 0;
        j->p += n;
    }
    return 0;
}

static int number(struct js *j)
{
    const unsigned char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end)
        return 0;
    if (*j->p == '0')
        j->p++;
    else if (*j->p >= '1' && *j->p <= '9')
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    else
        return 0;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return 0;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return 0;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    return j->p > s;
}

static int word(struct js *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return 0;
    j->p += n;
    return 1;
}

static int value(struct js *j)
{
    if (++j->depth > 64)
        return 0;
    ws(j);
    int ok = 0;
    if (j->p >= j->end)
        ok = 0;
    else if (*j->p == '"')
        ok = string(j);
    else if (*j->p == '{' || *j->p == '[') {
        char close = *j->p == '{' ? '}' : ']';
        int obj = close == '}';
        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            ok = 1;
        } else {
            for (;;) {
                ws(j);
                if (obj) {
                    if (!string(j))
                        break;
                    ws(j);
                    if (j->p >= j->end || *j->p != ':')
                        break;
                    j->p++;
                }
                if (!value(j))
                    break;
                ws(j);
                if (j->p < j->end && *j->p == ',') {
                    j->p++;
                    continue;
                }
                if (j->p < j->end && *j->p == close) {
                    j->p++;
                    ok = 1;
                }
                break;
            }
        }
    } else if (*j->p == 't')
        ok = word(j, "true");
    else if (*j->p == 'f')
        ok = word(j, "false");
    else if (*j->p == 'n')
        ok = word(j, "null");
    else
        ok = number(j);
    j->depth--;
    return ok;
}

int json_valid(const char *s, size_t n)
{
    struct js j = {(const unsigned char *)s, (const unsigned char *)s + n, 0};
    if (!value(&j))
        return 0;
    ws(&j);
    return j.p == j.end;
}

int json_get(const char *line, const char *key, char *out, size_t cap)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p)
        return 0;
    p += strlen(pat);
    struct js j = {(const unsigned char *)p, (const unsigned char *)p + strlen(p), 0};
    if (!value(&j))
        return 0;
    size_t n = (size_t)((const char *)j.p - p);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}
