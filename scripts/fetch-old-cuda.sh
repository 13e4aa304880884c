#!/usr/bin/env bash
# Older CUDA runtimes for the GPU matrix: CUDA 11.8 (Debian bookworm non-free: libcudart11.0,
# nvidia-cuda-dev) and 12.4 (trixie non-free: libcudart12, nvidia-cuda-dev), fetched through a
# private apt state (scripts/private-apt.sh; the system's sources are not touched), and the test
# plugin (tests/plugins/plug.c) built against each with gcc, host code only:
#   libplugA<v>.so, libplugB<v>.so   the runtime shared (libcudart.so.11.0 / .so.12, RUNPATH $ORIGIN/../lib)
#   libplugS<v>.so                   the runtime linked statically (libcudart_static.a)
# with <v> = 118 or 124. The CUDA 11 runtime asks cuGetProcAddress for the 4-argument ABI.
#   scripts/fetch-old-cuda.sh        -> .cudadeb/gpu/{11.8,12.4}/{lib,plugins}  (about 6 MB)
# .cudadeb/gpu is what the GPU machine needs (it has no network): give it to the device tool as
# carry [".cudadeb/gpu"]; scripts/gpu-test.sh runs the old-cuda rows when it is there. The .debs
# (1.7 GB, nvidia-cuda-dev) and the extracted trees stay in .cudadeb/ (gitignored) for the next run.
set -eu
cd "$(dirname "$0")/.."
C=$PWD/.cudadeb
# shellcheck source=scripts/private-apt.sh
. scripts/private-apt.sh
# A link-time stand-in for libcuda.so.1 (same soname; the real driver is the one found at run time).
make -s build/fake/libcuda.so.1 >/dev/null

for spec in "11.8 bookworm libcudart11.0 libcudart.so.11.0" "12.4 trixie libcudart12 libcudart.so.12"; do
    read -r ver suite pkg so <<<"$spec"
    debs=$C/debs/$ver
    if ! ls "$debs/${pkg}"_*.deb "$debs"/nvidia-cuda-dev_*.deb >/dev/null 2>&1; then
        echo "fetch-old-cuda: $pkg and nvidia-cuda-dev from $suite non-free (nvidia-cuda-dev is large)"
        papt_init "$C/apt-$suite" "$suite:non-free"
        papt_download "$C/apt-$suite" "$debs" "$pkg" nvidia-cuda-dev
    fi
    x=$C/root/$ver
    if [ ! -f "$x/.complete" ]; then
        rm -rf "$x"
        mkdir -p "$x"
        dpkg-deb -x "$(ls "$debs/${pkg}"_*.deb)" "$x"
        dpkg-deb --fsys-tarfile "$(ls "$debs"/nvidia-cuda-dev_*.deb)" |
            tar -x -C "$x" --wildcards './usr/include/*' ./usr/lib/x86_64-linux-gnu/libcudart_static.a
        touch "$x/.complete"
    fi
    lib=$x/usr/lib/x86_64-linux-gnu
    g=$C/gpu/$ver
    rm -rf "$g"
    mkdir -p "$g/lib" "$g/plugins"
    cp -L "$lib/$so" "$g/lib/$so"
    tag=${ver/./}
    cf=(-std=gnu11 -O2 -g -fPIC -fvisibility=hidden -fno-optimize-sibling-calls -Wall -Werror
        -Wno-deprecated-declarations -Wno-unused-function -I"$x/usr/include" "-DPLUG_CUDART_SONAME=\"$so\"")
    for p in A B; do
        gcc "${cf[@]}" -shared -o "$g/plugins/libplug$p$tag.so" tests/plugins/plug.c \
            -L"$g/lib" -l:"$so" -Lbuild/fake -lcuda -ldl -Wl,-rpath,'$ORIGIN/../lib'
    done
    gcc "${cf[@]}" -shared -o "$g/plugins/libplugS$tag.so" tests/plugins/plug.c "$lib/libcudart_static.a" \
        -Lbuild/fake -lcuda -ldl -lpthread -lrt
    echo "CUDA $(sed -n 's/^#define CUDART_VERSION *//p' "$x/usr/include/cuda_runtime_api.h") ($pkg $(ls "$debs/${pkg}"_*.deb | sed 's/.*_\(.*\)_.*/\1/')): $(cd "$g" && ls lib/* plugins/* | tr '\n' ' ')"
done
du -sh "$C/gpu"
