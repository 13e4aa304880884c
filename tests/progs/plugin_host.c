/* A plugin host: loads plugins RTLD_LOCAL (as real hosts do) and runs steps LIB:ACTION in order,
 * printing each result. LIB "self" means the host's own copy of the plugin code (cuda_host).
 * Exit status: 0 all checks passed, 1 a check failed, 2 another step failed, 3 usage/load error.
 * ACTION "unload" closes LIB (dlclose); a later step loads it again (reload cycles).
 * PLUGIN_HOST_DEEPBIND=1 loads plugins with RTLD_DEEPBIND; PLUGIN_HOST_SEGV_HANDLER=1 installs a SIGSEGV
 * handler of the host's own (it exits 42). A step "fork" forks: the child runs the remaining steps, the
 * parent waits for it and ends. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <syslog.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXLIBS 16
static struct {
    char name[512];
    void *h;
} libs[MAXLIBS];

static void *load(const char *name)
{
    for (int i = 0; i < MAXLIBS; i++) {
        if (libs[i].h && strcmp(libs[i].name, name) == 0)
            return libs[i].h;
        if (!libs[i].h) {
            int flags = RTLD_NOW | RTLD_LOCAL;
            const char *db = getenv("PLUGIN_HOST_DEEPBIND");
            if (db && strcmp(db, "1") == 0)
                flags |= RTLD_DEEPBIND;
            void *h = strcmp(name, "self") == 0 ? dlopen(NULL, RTLD_NOW) : dlopen(name, flags);
            if (!h) {
                fprintf(stderr, "plugin_host: %s\n", dlerror());
                return NULL;
            }
            snprintf(libs[i].name, sizeof libs[i].name, "%s", name);
            libs[i].h = h;
            return h;
        }
    }
    return NULL;
}

static void host_segv(int sig)
{
    (void)sig;
    static const char msg[] = "plugin_host: own SIGSEGV handler\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(43);
    _exit(42);
}

int main(int argc, char **argv)
{
    int status = 0;
    const char *own = getenv("PLUGIN_HOST_SEGV_HANDLER");
    if (own && strcmp(own, "1") == 0)
        signal(SIGSEGV, host_segv); /* before any CUDA use: ctxguard must chain to it */
    if (argc < 2) {
        fprintf(stderr, "usage: %s LIB:ACTION...\n", argv[0]);
        return 3;
    }
    for (int i = 1; i < argc; i++) {
        char lib[512], fn[128];
        if (strcmp(argv[i], "fork") == 0) {
            /* the child runs the remaining steps; the parent waits for it and ends */
            fflush(stdout);
            pid_t child = fork();
            if (child < 0)
                return 3;
            if (child == 0) {
                printf("fork: child %ld\n", (long)getpid());
                continue;
            }
            int st = 0;
            waitpid(child, &st, 0);
            printf("fork: parent %ld, child %ld exited %d\n", (long)getpid(), (long)child,
                   WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            return status;
        }
        /* the host's own doings (issue 16 tests): its syslog identity, a log rotation, its exit status */
        if (strncmp(argv[i], "host-openlog", 12) == 0) {
            openlog("myhost", LOG_NDELAY | LOG_PERROR, LOG_DAEMON); /* LOG_PERROR: the test reads it on stderr */
            continue;
        }
        if (strncmp(argv[i], "host-syslog", 11) == 0) {
            syslog(LOG_INFO, "the host's own message");
            continue;
        }
        if (strncmp(argv[i], "host-rename=", 12) == 0) { /* host-rename=FROM=TO, as logrotate does */
            char from[512];
            const char *eq = strchr(argv[i] + 12, '=');
            if (!eq || (size_t)(eq - argv[i] - 12) >= sizeof from)
                return 3;
            memcpy(from, argv[i] + 12, (size_t)(eq - argv[i] - 12));
            from[eq - argv[i] - 12] = '\0';
            if (rename(from, eq + 1) != 0)
                return 3;
            continue;
        }
        if (strncmp(argv[i], "host-sleep=", 11) == 0) {
            usleep((useconds_t)atoi(argv[i] + 11) * 1000);
            continue;
        }
        if (strncmp(argv[i], "host-print", 10) == 0) {
            printf("host: buffered output\n"); /* no fflush: exit() must still write it */
            continue;
        }
        if (strncmp(argv[i], "host-exit=", 10) == 0)
            exit(atoi(argv[i] + 10));
        const char *colon = strrchr(argv[i], ':');
        if (!colon || (size_t)(colon - argv[i]) >= sizeof lib) {
            fprintf(stderr, "plugin_host: bad step %s\n", argv[i]);
            return 3;
        }
        memcpy(lib, argv[i], (size_t)(colon - argv[i]));
        lib[colon - argv[i]] = '\0';
        if (strcmp(colon + 1, "unload") == 0) {
            for (int k = 0; k < MAXLIBS; k++)
                if (libs[k].h && strcmp(libs[k].name, lib) == 0) {
                    if (dlclose(libs[k].h) != 0)
                        fprintf(stderr, "plugin_host: dlclose %s: %s\n", lib, dlerror());
                    libs[k].h = NULL;
                    libs[k].name[0] = '\0';
                }
            continue;
        }
        snprintf(fn, sizeof fn, "plug_%s", colon + 1);
        if (strcmp(colon + 1, "unload") == 0) {
            int k = 0;
            while (k < MAXLIBS && !(libs[k].h && strcmp(libs[k].name, lib) == 0))
                k++;
            int r = k < MAXLIBS ? dlclose(libs[k].h) : -1;
            if (k < MAXLIBS)
                libs[k].h = NULL;
            printf("%s:unload -> %d\n", strrchr(lib, '/') ? strrchr(lib, '/') + 1 : lib, r);
            fflush(stdout);
            if (r != 0)
                return 3;
            continue;
        }
        void *h = load(lib);
        if (!h)
            return 3;
        int (*act)(void) = (int (*)(void))dlsym(h, fn);
        const char *(*errname)(int) = (const char *(*)(int))dlsym(h, "plug_errname");
        if (!act || !errname) {
            fprintf(stderr, "plugin_host: %s has no %s\n", lib, fn);
            return 3;
        }
        int r = act();
        const char *base = strrchr(lib, '/') ? strrchr(lib, '/') + 1 : lib;
        printf("%s:%s -> %d %s\n", base, colon + 1, r, errname(r));
        fflush(stdout);
        if (r != 0) {
            if (strcmp(colon + 1, "check") == 0)
                status = 1;
            else if (status == 0)
                status = 2;
        }
    }
    return status;
}
