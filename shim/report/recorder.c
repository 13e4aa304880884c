/* The flight recorder: the last CTXGUARD_DUMP_EVENTS events (default 4096), as the finished lines the
 * log gets (JSON in a JSON log, with the same seq), in a fixed ring mapped once when dumps are
 * configured (pages are touched only as events arrive: 1 KiB per event; a longer line is formatted
 * again with its strings capped, so it stays one valid line). Writers claim a slot with one atomic increment and copy their line; nothing
 * allocates or locks after that. A dump only calls open/write/close, so it is safe from a signal
 * handler. The events are what reaches the log's decision point: every judged call and explanation
 * (whatever the log level), and pass-through calls only at debug level, so the hot path stays free.
 *
 * Dumps go to CTXGUARD_DUMP (a path, %p = pid; opt-in, because they mean installing signal handlers
 * in someone else's process): at exit when anything was blocked, denied or attributed; on SIGUSR2; and
 * on SIGSEGV, SIGBUS, SIGABRT and SIGFPE, after which the host's own handler (or the default action)
 * runs as if ctxguard were not there. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"
#include "core/open_dest.h"
#include "core/sink.h"
#include "core/stamp.h"
#include "report/log.h"

#define CG_REC_LINE 1024

static char (*ring)[CG_REC_LINE]; /* rec_n lines, mapped by cg_recorder_install */
static unsigned short *ring_len;
static unsigned long rec_n;
static unsigned long ring_head; /* total lines ever recorded */
static int notable;             /* something was blocked, denied or aborted */
static int explained;           /* a failure was explained (an attribution event was recorded) */

/* The dump's own first and last lines, like every other line: head, then "why". What does not change
 * within a process (start, exe, version: JSON-escaped or quoted) is formatted once, when the recorder
 * is installed or a child forked, so a dump from a signal handler only copies and counts by hand. */
static char frame_mid[1400];

static void prepare_frame(void)
{
    char buf[sizeof frame_mid + 200];
    struct timespec ts = {0, 0};
    struct cg_head h = {&ts, "dump", CG_SEV_NOTICE, 0, 0, cg_stamp_start(), cg_stamp_exe(), CG_VERSION};
    size_t n = cg_format_fields(buf, sizeof buf, &h, NULL, 0, cg_cfg.format);
    const char *m = strstr(buf, cg_cfg.format == CG_FORMAT_JSON ? "\"seq\":0," : " seq=0 ");
    frame_mid[0] = '\0';
    if (m == NULL)
        return;
    m += cg_cfg.format == CG_FORMAT_JSON ? 7 : 6; /* from the comma or space before "start" */
    size_t k = (size_t)(buf + n - m) - (cg_cfg.format == CG_FORMAT_JSON); /* without the closing brace */
    if (k < sizeof frame_mid) {
        memcpy(frame_mid, m, k);
        frame_mid[k] = '\0';
    }
}

int cg_recorder_on(void)
{
    return __atomic_load_n(&ring, __ATOMIC_ACQUIRE) != NULL;
}

void cg_record_event(const struct cg_event *ev, const char *line_in, size_t n, const struct cg_head *h, long tid)
{
    if (ring == NULL)
        return; /* no dump configured: the log already has everything */
    char again[CG_REC_LINE];
    const char *line = line_in;
    if (n > CG_REC_LINE - 1) {
        n = cg_format_event(again, sizeof again - 1, ev, cg_cfg.format, h, tid);
        line = again;
    }
    unsigned long i = __atomic_fetch_add(&ring_head, 1, __ATOMIC_ACQ_REL) % rec_n;
    ring_len[i] = 0; /* a dump racing with this writer skips the slot rather than print half a line */
    memcpy(ring[i], line, n);
    ring[i][n] = '\n';
    __atomic_store_n(&ring_len[i], (unsigned short)(n + 1), __ATOMIC_RELEASE);
    if (ev->action != CG_ALLOW)
        __atomic_store_n(&notable, 1, __ATOMIC_RELEASE);
    /* the event says what it is: the recorder needs nothing from the layer that made it */
    if (ev->decided_by && strcmp(ev->decided_by, "attribution") == 0)
        __atomic_store_n(&explained, 1, __ATOMIC_RELEASE);
}

static const char *num(char *end, unsigned long v)
{
    *--end = '\0';
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* A line of the dump's own ("event":"dump"), with its seq: async-signal-safe (no stdio, no locks). */
static void frame(int fd, const char *why, const char *part)
{
    char line[sizeof frame_mid + 400], ts_text[40], a[24], b[24];
    size_t n = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cg_utc_text(&ts, ts_text, sizeof ts_text);
    const char *pid = num(a + sizeof a, (unsigned long)getpid()), *seq = num(b + sizeof b, cg_stamp_next());
    int json = cg_cfg.format == CG_FORMAT_JSON;
    const char *parts[] = {json ? "{\"ts\":\"" : "ctxguard: ", ts_text,
                           json ? "\",\"event\":\"dump\",\"level\":\"notice\",\"pid\":" : " event=dump level=notice pid=",
                           pid, json ? ",\"seq\":" : " seq=", seq, frame_mid,
                           json ? ",\"why\":\"" : " why=\"", why, json ? "\",\"part\":\"" : "\" part=\"", part,
                           json ? "\"}\n" : "\"\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t k = strlen(parts[i]);
        if (n + k < sizeof line) {
            memcpy(line + n, parts[i], k);
            n += k;
        }
    }
    cg_write_all(fd, line, n);
}

/* Async-signal-safe: open, write, close, and integer formatting by hand. */
static void dump(const char *why)
{
    if (cg_cfg.dump_path[0] == '\0')
        return;
    int saved = errno;
    const char *kind;
    int fd = cg_open_dest(cg_cfg.dump_path, cg_cfg.log_mode, &kind);
    if (fd == CG_DEST_NOT_REGULAR) { /* a FIFO would block the host: stderr instead, said once */
        static int refused;
        if (!__atomic_exchange_n(&refused, 1, __ATOMIC_ACQ_REL))
            cg_dest_refused("CTXGUARD_DUMP", cg_cfg.dump_path, kind, "dumping to stderr");
        fd = 2;
    } else if (fd < 0) {
        errno = saved;
        return;
    }
    frame(fd, why, "the last events, oldest first");
    unsigned long head = __atomic_load_n(&ring_head, __ATOMIC_ACQUIRE);
    unsigned long first = head > rec_n ? head - rec_n : 0;
    for (unsigned long i = first; ring && i < head; i++) {
        unsigned long slot = i % rec_n;
        unsigned short len = __atomic_load_n(&ring_len[slot], __ATOMIC_ACQUIRE);
        if (len)
            cg_write_all(fd, ring[slot], len);
    }
    frame(fd, why, "end of dump");
    if (fd != 2)
        close(fd);
    errno = saved;
}

static struct sigaction previous[32];
static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE};

static void on_fatal(int sig, siginfo_t *info, void *uc)
{
    static const char *const names[32] = {[SIGSEGV] = "SIGSEGV", [SIGBUS] = "SIGBUS", [SIGABRT] = "SIGABRT",
                                          [SIGFPE] = "SIGFPE"};
    char why[64] = "fatal signal ";
    strncat(why, names[sig] ? names[sig] : "?", sizeof why - strlen(why) - 1);
    dump(why);
    /* Hand the signal to whatever the host had: its handler, or the default action (re-raised). */
    struct sigaction *p = &previous[sig];
    if ((p->sa_flags & SA_SIGINFO) && p->sa_sigaction) {
        p->sa_sigaction(sig, info, uc);
        return;
    }
    if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
        p->sa_handler(sig);
        return;
    }
    sigaction(sig, p, NULL);
    raise(sig);
}

static void on_usr2(int sig, siginfo_t *info, void *uc)
{
    dump("on demand (SIGUSR2)");
    struct sigaction *p = &previous[sig];
    if ((p->sa_flags & SA_SIGINFO) && p->sa_sigaction)
        p->sa_sigaction(sig, info, uc);
    else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN)
        p->sa_handler(sig);
}

void cg_recorder_install(void)
{
    if (cg_cfg.dump_path[0] == '\0')
        return;
    unsigned long n = (unsigned long)cg_cfg.dump_events;
    size_t bytes = n * (CG_REC_LINE + sizeof *ring_len);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        cg_log_msg("CTXGUARD_DUMP: cannot map the flight recorder (%lu events): no dumps", n);
        return;
    }
    prepare_frame();
    rec_n = n;
    ring_len = (unsigned short *)((char *)p + n * CG_REC_LINE);
    __atomic_store_n(&ring, (char(*)[CG_REC_LINE])p, __ATOMIC_RELEASE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = on_fatal;
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, &previous[fatal[i]]);
    sa.sa_sigaction = on_usr2;
    sigaction(SIGUSR2, &sa, &previous[SIGUSR2]);
}

void cg_recorder_after_fork_child(void)
{
    /* an empty ring: a dump of the child shows the child's events, and only its own blocks make it
     * dump at exit (slots are read only below ring_head, each rewritten before it is counted) */
    ring_head = 0;
    if (ring)
        prepare_frame(); /* the child's own start */
    notable = 0;
    explained = 0;
}

__attribute__((destructor)) static void dump_at_exit(void)
{
    if (__atomic_load_n(&cg_ready, __ATOMIC_ACQUIRE) &&
        (__atomic_load_n(&notable, __ATOMIC_ACQUIRE) || __atomic_load_n(&explained, __ATOMIC_ACQUIRE)))
        dump("at exit, because something was blocked, denied or a failure was attributed");
}
