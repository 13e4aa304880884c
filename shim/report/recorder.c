/* The flight recorder: the last CTXGUARD_DUMP_EVENTS events (default 4096), as finished text lines, in
 * a fixed ring mapped once when dumps are configured (pages are touched only as events arrive: 480
 * bytes per event). Writers claim a slot with one atomic increment and copy their line; nothing
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
#include "report/log.h"

#define CG_REC_LINE 480

static char (*ring)[CG_REC_LINE]; /* rec_n lines, mapped by cg_recorder_install */
static unsigned short *ring_len;
static unsigned long rec_n;
static unsigned long ring_head; /* total lines ever recorded */
static int notable;             /* something was blocked, denied or aborted */
static int explained;           /* a failure was explained (an attribution event was recorded) */

void cg_record_event(const struct cg_event *ev)
{
    if (ring == NULL)
        return; /* no dump configured: the log already has everything */
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t n = cg_format_event(line, sizeof line, ev, CG_FORMAT_TEXT, &ts, (long)getpid(), (long)syscall(SYS_gettid));
    if (n > CG_REC_LINE - 1)
        n = CG_REC_LINE - 1;
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

static void put(int fd, const char *s)
{
    cg_write_all(fd, s, strlen(s));
}

/* Async-signal-safe: open, write, close, and integer formatting by hand. */
static void dump(const char *why)
{
    if (cg_cfg.dump_path[0] == '\0')
        return;
    int saved = errno;
    const char *kind;
    int fd = cg_open_dest(cg_cfg.dump_path, &kind);
    if (fd == CG_DEST_NOT_REGULAR) { /* a FIFO would block the host: stderr instead, said once */
        static int refused;
        if (!__atomic_exchange_n(&refused, 1, __ATOMIC_ACQ_REL))
            cg_dest_refused("CTXGUARD_DUMP", cg_cfg.dump_path, kind, "dumping to stderr");
        fd = 2;
    } else if (fd < 0) {
        errno = saved;
        return;
    }
    char num[24];
    long pid = (long)getpid();
    int k = (int)sizeof num - 1;
    num[k] = '\0';
    do {
        num[--k] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid && k > 0);
    put(fd, "ctxguard dump (pid ");
    put(fd, num + k);
    put(fd, "): ");
    put(fd, why);
    put(fd, "; the last events, oldest first:\n");
    unsigned long head = __atomic_load_n(&ring_head, __ATOMIC_ACQUIRE);
    unsigned long first = head > rec_n ? head - rec_n : 0;
    for (unsigned long i = first; ring && i < head; i++) {
        unsigned long slot = i % rec_n;
        unsigned short len = __atomic_load_n(&ring_len[slot], __ATOMIC_ACQUIRE);
        if (len)
            cg_write_all(fd, ring[slot], len);
    }
    put(fd, "ctxguard dump end\n");
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
    notable = 0;
    explained = 0;
}

__attribute__((destructor)) static void dump_at_exit(void)
{
    if (__atomic_load_n(&cg_ready, __ATOMIC_ACQUIRE) &&
        (__atomic_load_n(&notable, __ATOMIC_ACQUIRE) || __atomic_load_n(&explained, __ATOMIC_ACQUIRE)))
        dump("at exit, because something was blocked, denied or a failure was attributed");
}
