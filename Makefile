SHELL := /bin/bash
# ctxguard. `make` builds build/libctxguard.so; `make check` runs the cmocka suite on the fake CUDA
# libraries; `make demo` shows a plugin host surviving a reset (real GPU if present, else fakes).
# Options: V=1 (show commands), SAN=address,undefined (sanitizers); install locations PREFIX, LIBDIR,
# BINDIR, INCLUDEDIR, MANDIR, DOCDIR, DESTDIR; a packager's CPPFLAGS, CFLAGS, LDFLAGS (added after the
# library's own flags).

CC       ?= cc
PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
BINDIR   ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/ctxguard
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR  ?=
B        ?= build
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

WARN     := -Wall -Wextra -Werror
CSTD     := -std=gnu11
# _FORTIFY_SOURCE=2 as Ubuntu's gcc applies by default (the GPU machine): catch its aborts here too.
# A packager's own _FORTIFY_SOURCE (dpkg-buildflags) replaces it: two definitions would be an error.
FORTIFY  := $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
OPT      ?= -O2 -g $(FORTIFY)
SANFLAGS := $(if $(SAN),-fsanitize=$(SAN) $(if $(findstring thread,$(SAN)),,-fno-sanitize-recover=all) -fno-omit-frame-pointer,)
# ctxguard's version, in every log line ("version"): the VERSION file unless given (make VERSION=…).
VERSION  ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
# The glibc built against (major*100+minor): shim/compat/glibc_symver.h, forced into the library's
# objects, binds the references whose default version is newer than the library's floor
# to the old version, so the library built here loads on an older glibc (README, "Requirements").
CG_BUILD_GLIBC := $(shell printf '\043include <features.h>\nCG __GLIBC__ __GLIBC_MINOR__\n' | $(CC) -E -P -x c - 2>/dev/null | \
                    awk '$$1 == "CG" && $$2 ~ /^[0-9]+$$/ { print $$2 * 100 + $$3 }')
COMPAT   := $(if $(CG_BUILD_GLIBC),-DCG_BUILD_GLIBC=$(CG_BUILD_GLIBC) -include shim/compat/glibc_symver.h)
# Full RELRO: the GOT is bound at load and made read-only (the library sits in every guarded process).
LDFLAGS_HARDEN := -Wl,-z,relro,-z,now
# On glibc < 2.34 the dl* and pthread functions live in libdl.so.2 and libpthread.so.0 (since 2.34 in
# libc, those two are stubs): name them, as-needed or not, so an old loader finds the functions there.
LIBS_SHIM := -Wl,--push-state,--no-as-needed -l:libdl.so.2 -l:libpthread.so.0 -Wl,--pop-state -lgcc_s
CFLAGS_SHIM := $(CSTD) $(OPT) $(WARN) -fPIC -fvisibility=hidden $(SANFLAGS) -DCG_VERSION='"$(VERSION)"' $(COMPAT) \
               $(CPPFLAGS) $(CFLAGS)
CFLAGS_TEST := $(CSTD) $(OPT) $(WARN) -fPIC $(SANFLAGS)

# The library, one folder per layer (docs/architecture.md): a file may include headers of its own
# layer and of the layers below it only (scripts/layer-check.py checks both the includes and the symbols).
# version_main.c: the library run as a program (its version and settings), wiring like init.c.
SHIM_LAYERS := core track report decide doors
SHIM_SRC := $(foreach l,$(SHIM_LAYERS),$(sort $(wildcard shim/$(l)/*.c))) shim/init.c shim/version_main.c
SHIM_OBJ := $(patsubst shim/%.c,$(B)/obj/%.o,$(SHIM_SRC)) $(B)/obj/arch/x86_64/dlsym_entry.o
SHIM_HDR := $(wildcard shim/*/*.h) shim/core/hooks.def
# Per-object header dependencies (-MMD -MP): an edited header rebuilds exactly its includers.
DEPFLAGS := -MMD -MP
.DEFAULT_GOAL := all
-include $(SHIM_OBJ:.o=.d)

FAKE := $(B)/fake
FAKEINC := -Itests/fake/include
PLUG := $(B)/plugins

.PHONY: all check bench demo install uninstall clean test-progs layers expand deb
all: $(B)/libctxguard.so $(B)/libctxguard-noop.so $(B)/ctxguard

# The command shares the library's rule parser (one grammar, one implementation).
# It checks settings with the library's own reader too (shim/core/config.c).
CLI_SRC := cli/ctxguard.c cli/opts.c cli/run.c cli/check.c cli/report.c cli/report_out.c cli/strmap.c cli/inspect.c \
           cli/jsonl.c cli/textlog.c shim/decide/rules.c shim/core/config.c shim/core/hooks.c
# It finds the library at CTXGUARD_LIBDIR (LIBDIR, built in: the command is rebuilt when LIBDIR changes),
# else beside itself (the build tree).
$(B)/ctxguard: $(CLI_SRC) $(wildcard cli/*.h) $(SHIM_HDR) include/ctxguard.h $(B)/libdir.stamp | $(B)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CSTD) -D_GNU_SOURCE $(OPT) $(WARN) $(SANFLAGS) -Ishim -DCTXGUARD_LIBDIR='"$(LIBDIR)"' \
	  $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_HARDEN) $(LDFLAGS) -o $@ $(CLI_SRC)

# Holds the LIBDIR the command was built with; rewritten (and the command rebuilt) only when it differs.
$(B)/libdir.stamp: FORCE | $(B)
	$(Q)printf '%s\n' '$(LIBDIR)' | cmp -s - $@ || printf '%s\n' '$(LIBDIR)' > $@
.PHONY: FORCE
FORCE:

$(B)/obj/%.o: shim/%.c shim/compat/glibc_symver.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_SHIM) $(DEPFLAGS) -Ishim -c $< -o $@

# Under SAN=thread, the code a sanitizer runtime reaches through dlsym before it is initialised (the
# dlsym entry and the resolution of glibc's dl* functions) must not be instrumented itself.
ifneq ($(findstring thread,$(SAN)),)
$(B)/obj/init.o $(B)/obj/doors/dl_hooks.o: CFLAGS_SHIM := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS_SHIM))
endif
# Any sanitizer: glibc's dl* functions are resolved (core/libdl.c) from the sanitizer runtime's own
# initialisation, when its shadow memory does not exist yet.
$(B)/obj/core/libdl.o: CFLAGS_SHIM := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS_SHIM))

$(B)/obj/arch/x86_64/dlsym_entry.o: shim/arch/x86_64/dlsym_entry.S
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(SANFLAGS) -c $< -o $@

$(B)/exports.map: shim/doors/exports.map.in shim/core/hooks.def | $(B)
	$(Q)$(CC) -E -P -x c -Ishim $< | grep -v '^ *$$' > $@

$(B)/libctxguard.so: $(SHIM_OBJ) $(B)/exports.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -o $@ $(SHIM_OBJ) $(SANFLAGS) -Wl,--no-undefined -Wl,-z,defs \
	  -Wl,--version-script=$(B)/exports.map -Wl,-soname,libctxguard.so $(CFLAGS) $(LDFLAGS_HARDEN) $(LDFLAGS) \
	  -Wl,-e,cg_version_main $(LIBS_SHIM)

# The layering: includes only downwards, and no knot of objects beyond the entry points.
layers: $(SHIM_OBJ)
	$(Q)python3 scripts/layer-check.py $(B)/obj $(SHIM_OBJ) --print

# The code hooks.def generates, preprocessed, to read and step through: build/gen/<file>.i
expand:
	$(Q)mkdir -p $(B)/gen
	$(Q)for f in shim/doors/rt_hooks.c shim/doors/drv_hooks.c shim/doors/res_hooks.c shim/doors/handout.c shim/core/hooks.c; do \
	  $(CC) $(CSTD) -D_GNU_SOURCE -E -P -Ishim $$f | sed -e 's/; /;\n/g' > $(B)/gen/$$(basename $$f .c).i || exit 1; \
	  echo "  GEN     $(B)/gen/$$(basename $$f .c).i"; done

# The benchmark's control: same exports, pure forwarding (shim/noop_twin.c).
$(B)/libctxguard-noop.so: tests/bench/noop_twin.c $(SHIM_HDR) $(B)/obj/arch/x86_64/dlsym_entry.o $(B)/exports.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_SHIM) -Ishim -shared -o $@ tests/bench/noop_twin.c $(B)/obj/arch/x86_64/dlsym_entry.o -Wl,--no-undefined \
	  -Wl,--version-script=$(B)/exports.map $(LDFLAGS_HARDEN) $(LDFLAGS) $(LIBS_SHIM)

$(B) $(B)/obj $(FAKE) $(PLUG) $(B)/progs $(B)/tests $(B)/bench:
	$(Q)mkdir -p $@

# ---- fake CUDA libraries ----
$(FAKE)/libcuda.so.1: tests/fake/fake_cuda.c | $(FAKE)
	$(Q)$(CC) $(CFLAGS_TEST) -fvisibility=hidden -shared -Wl,-Bsymbolic -Wl,-soname,libcuda.so.1 -o $@ $< -lpthread
	$(Q)ln -sf libcuda.so.1 $(FAKE)/libcuda.so

$(FAKE)/libcudart.so.13: tests/fake/fake_cudart.c tests/fake/libcudart.map | $(FAKE)
	$(Q)$(CC) $(CFLAGS_TEST) -fvisibility=hidden -shared -Wl,-Bsymbolic -Wl,-soname,libcudart.so.13 \
	  -Wl,--version-script=tests/fake/libcudart.map -o $@ $< -ldl -lpthread
	$(Q)ln -sf libcudart.so.13 $(FAKE)/libcudart.so

# A second copy of the runtime in a directory of its own (two runtimes reached through dlsym)
$(FAKE)/alt/libcudart.so.13: $(FAKE)/libcudart.so.13
	$(Q)mkdir -p $(@D) && cp $< $@

$(FAKE)/libcudart_static.a: tests/fake/fake_cudart.c | $(FAKE)
	$(Q)$(CC) $(CFLAGS_TEST) -DFAKE_STATIC -c $< -o $(FAKE)/fake_cudart_static.o
	$(Q)ar rcs $@ $(FAKE)/fake_cudart_static.o

# A stand-in NVTX library (CTXGUARD_NVTX tests)
$(FAKE)/libfake_nvtx.so: tests/fake/fake_nvtx.c | $(FAKE)
	$(Q)$(CC) $(CFLAGS_TEST) -fvisibility=hidden -shared -o $@ $<

# Test interposers preloaded in front of ctxguard (tests/preload)
PRELOAD := $(B)/preload
$(PRELOAD):
	$(Q)mkdir -p $@
$(PRELOAD)/%.so: tests/preload/%.c | $(PRELOAD)
	$(Q)$(CC) $(CFLAGS_TEST) -shared -o $@ $< -ldl

FAKELIBS := $(FAKE)/libcuda.so.1 $(FAKE)/libcudart.so.13 $(FAKE)/alt/libcudart.so.13 $(FAKE)/libcudart_static.a $(FAKE)/libfake_nvtx.so

# A stand-in NVIDIA math library (named as cuBLAS is) that calls the runtime for its caller.
$(FAKE)/libcublas.so.13: tests/fake/fake_nvlib.c $(FAKE)/libcudart.so.13 | $(FAKE)
	$(Q)$(CC) $(CFLAGS_TEST) $(FAKEINC) -fvisibility=hidden -fno-optimize-sibling-calls -shared -Wl,-soname,libcublas.so.13 \
	  -o $@ $< -L$(FAKE) -Wl,-rpath,'$$ORIGIN' -lcudart

# ---- test plugins and hosts (fake runtime) ----
# -fno-optimize-sibling-calls: see docs/architecture.md, "Limits" (a tail call is attributed to
# the caller's caller); the scenarios test attribution, so their plugins make ordinary calls.
PLUG_CFLAGS := $(CFLAGS_TEST) $(FAKEINC) -fvisibility=hidden -Wno-unused-function -fno-optimize-sibling-calls
PLUG_RPATH  := -Wl,-rpath,'$$ORIGIN/../fake'
# libplugA/B/C: shared fake runtime; libplugS1/S2: the fake runtime linked statically.
$(PLUG)/libplug%.so: tests/plugins/plug.c $(FAKELIBS) | $(PLUG)
	$(Q)$(CC) $(PLUG_CFLAGS) -shared -o $@ $< -L$(FAKE) $(PLUG_RPATH) -lcudart -lcuda -ldl
$(PLUG)/libplugS%.so: tests/plugins/plug.c $(FAKELIBS) | $(PLUG)
	$(Q)$(CC) $(PLUG_CFLAGS) -shared -o $@ $< $(FAKE)/libcudart_static.a -L$(FAKE) $(PLUG_RPATH) -lcuda -ldl -lpthread

$(B)/progs/plugin_host: tests/progs/plugin_host.c | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -ldl
# cuda_host: the host itself is a CUDA user (its own copy of the plugin code, step target "self").
$(B)/progs/cuda_host: tests/progs/plugin_host.c tests/plugins/plug.c $(FAKELIBS) | $(B)/progs
	$(Q)$(CC) $(PLUG_CFLAGS) -rdynamic -o $@ tests/progs/plugin_host.c tests/plugins/plug.c \
	  -L$(FAKE) -Wl,-rpath,'$$ORIGIN/../fake' -lcudart -lcuda -ldl

# secure_host: cuda_host linked with ctxguard itself (setuid programs ignore LD_PRELOAD paths) and with
# absolute DT_RPATH (ignored $ORIGIN in secure mode), for the setuid test.
$(B)/progs/secure_host: tests/progs/plugin_host.c tests/plugins/plug.c $(FAKELIBS) $(B)/libctxguard.so | $(B)/progs
	$(Q)$(CC) $(PLUG_CFLAGS) -rdynamic -o $@ tests/progs/plugin_host.c tests/plugins/plug.c \
	  -L$(B) -L$(FAKE) -Wl,--disable-new-dtags -Wl,-rpath,$(abspath $(B)):$(abspath $(FAKE)) -lctxguard -lcudart -lcuda -ldl

$(B)/progs/bench_calls: tests/bench/bench_calls.c $(FAKELIBS) | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) $(FAKEINC) -o $@ $< -L$(FAKE) -Wl,-rpath,'$$ORIGIN/../fake' -lcudart -lcuda -lpthread

# issue 14's scale figures (scripts/bench.py, "scale"): thousands of copies of one tiny module
$(B)/bench/libtiny.so: tests/bench/tiny_mod.c $(FAKELIBS) | $(B)/bench
	$(Q)$(CC) $(CFLAGS_TEST) $(FAKEINC) -fno-optimize-sibling-calls -shared -o $@ $< -L$(FAKE) -Wl,-rpath,'$$ORIGIN/../fake' -lcudart
$(B)/bench/scale: tests/bench/scale.c | $(B)/bench
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -ldl -lpthread

# the least any preload can be: one jmp per forwarded call (a column of the paired benchmark)
$(B)/bench/libjmpfwd.so: tests/bench/jmp_forwarder.c | $(B)/bench
	$(Q)$(CC) $(CFLAGS_TEST) -shared -o $@ $< -ldl

$(PLUG)/libplugE.so: tests/plugins/plug.c $(FAKELIBS) | $(PLUG)
	$(Q)$(CC) $(PLUG_CFLAGS) -DPLUG_CTOR -shared -o $@ $< -L$(FAKE) $(PLUG_RPATH) -lcudart -lcuda -ldl
$(B)/progs/early_host: tests/progs/early_host.c $(PLUG)/libplugE.so | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -L$(PLUG) -Wl,-rpath,'$$ORIGIN/../plugins' -lplugE -ldl

$(B)/progs/stress_host: tests/progs/stress_host.c | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -ldl -lpthread

$(B)/progs/two_runtimes: tests/progs/two_runtimes.c | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -ldl

$(B)/progs/random_host: tests/progs/random_host.c | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -ldl -lpthread

$(B)/progs/mt_host: tests/progs/mt_host.c | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -ldl -lpthread

# Issue 14: users behind anonymous code and NVIDIA libraries, many plugins, small thread stacks.
$(B)/progs/anon_host: tests/progs/anon_host.c | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -ldl
$(B)/progs/many_host: tests/progs/many_host.c | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -ldl
$(B)/progs/small_stack: tests/progs/small_stack.c | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -lpthread

# dlopen's handles kept and forgotten: A comes back as a dependency of libdepA (tests/test_dlsym.c)
$(PLUG)/libdepA.so: tests/plugins/dep.c $(PLUG)/libplugA.so | $(PLUG)
	$(Q)$(CC) $(CFLAGS_TEST) -shared -o $@ $< -L$(PLUG) -Wl,-rpath,'$$ORIGIN' -Wl,--no-as-needed -l:libplugA.so
$(B)/progs/reopen_host: tests/progs/reopen_host.c | $(B)/progs
	$(Q)$(CC) $(CFLAGS_TEST) -o $@ $< -ldl

TEST_PROGS := $(PLUG)/libplugA.so $(PLUG)/libplugB.so $(PLUG)/libplugC.so $(PLUG)/libplugS1.so \
              $(PLUG)/libplugS2.so $(B)/progs/plugin_host $(B)/progs/cuda_host $(B)/progs/dlsym_probe $(B)/progs/bench_calls $(B)/bench/libjmpfwd.so \
              $(B)/progs/mt_host $(B)/progs/stress_host $(B)/progs/early_host $(B)/progs/two_runtimes $(B)/progs/random_host \
              $(PRELOAD)/mutate_read.so $(PRELOAD)/sink_dlsym.so $(PRELOAD)/full_disk.so $(PRELOAD)/fail_big_mmap.so $(PRELOAD)/slow_list.so $(B)/progs/secure_host \
              $(B)/bench/libtiny.so $(B)/bench/scale \
              $(FAKE)/libcublas.so.13 $(B)/progs/anon_host $(B)/progs/many_host $(B)/progs/small_stack \
              $(PLUG)/libdepA.so $(B)/progs/reopen_host
test-progs: $(TEST_PROGS)

include tests/tests.mk

demo: all test-progs
	$(Q)scripts/demo.sh

bench: all test-progs
	$(Q)scripts/bench.sh

# Every path quoted: DESTDIR or PREFIX may hold a space. The command is built with this LIBDIR.
DOCS := README.md docs/architecture.md docs/deployment.md docs/policy.md docs/troubleshooting.md \
        docs/reliability.md docs/performance.md docs/gpu-results.md
EXAMPLES := docs/examples/ctxguard.rules docs/examples/guarded-launch.sh docs/examples/ctxguard.logrotate
install: all
	install -d '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(INCLUDEDIR)' \
	  '$(DESTDIR)$(MANDIR)/man1' '$(DESTDIR)$(MANDIR)/man7' '$(DESTDIR)$(DOCDIR)/examples' \
	  '$(DESTDIR)$(COMPLETIONDIR)'
	install -m 0755 $(B)/libctxguard.so '$(DESTDIR)$(LIBDIR)/libctxguard.so'
	install -m 0755 $(B)/ctxguard '$(DESTDIR)$(BINDIR)/ctxguard'
	install -m 0644 include/ctxguard.h '$(DESTDIR)$(INCLUDEDIR)/ctxguard.h'
	install -m 0644 docs/ctxguard.1 '$(DESTDIR)$(MANDIR)/man1/ctxguard.1'
	install -m 0644 docs/libctxguard.7 '$(DESTDIR)$(MANDIR)/man7/libctxguard.7'
	install -m 0644 completion/ctxguard '$(DESTDIR)$(COMPLETIONDIR)/ctxguard'
	install -m 0644 $(DOCS) '$(DESTDIR)$(DOCDIR)/'
	install -m 0644 $(EXAMPLES) '$(DESTDIR)$(DOCDIR)/examples/'
	sed 's|@LIBDIR@|$(LIBDIR)|g' docs/examples/systemd-ctxguard.conf > '$(DESTDIR)$(DOCDIR)/examples/systemd-ctxguard.conf'
	chmod 0644 '$(DESTDIR)$(DOCDIR)/examples/systemd-ctxguard.conf'

uninstall:
	rm -f '$(DESTDIR)$(LIBDIR)/libctxguard.so' '$(DESTDIR)$(BINDIR)/ctxguard' \
	  '$(DESTDIR)$(INCLUDEDIR)/ctxguard.h' '$(DESTDIR)$(MANDIR)/man1/ctxguard.1' \
	  '$(DESTDIR)$(MANDIR)/man7/libctxguard.7' '$(DESTDIR)$(COMPLETIONDIR)/ctxguard'
	rm -f $(foreach f,$(DOCS),'$(DESTDIR)$(DOCDIR)/$(notdir $(f))') \
	  $(foreach f,$(EXAMPLES) systemd-ctxguard.conf,'$(DESTDIR)$(DOCDIR)/examples/$(notdir $(f))')
	-rmdir '$(DESTDIR)$(DOCDIR)/examples' '$(DESTDIR)$(DOCDIR)' 2>/dev/null

# The Debian packages, built on a copy in build/deb and checked by lintian (scripts/build-deb.sh).
deb:
	$(Q)scripts/build-deb.sh

clean:
	rm -rf $(B) build-san build-tsan
