# Sourced by scripts that need packages from another Debian suite or component (bullseye's libc,
# the CUDA runtimes in non-free). Everything lives in a private apt state directory: the system's
# sources, lists, cache and dpkg status are never read for candidates nor written.
#   papt_init DIR SUITE:COMPONENT...   writes DIR/sources.list and runs `apt-get update` there
#   papt_download DIR DEST PKG...      downloads the .debs into DEST (the suite's versions)
# The mirror is the system's configured Debian mirror (DEBIAN_MIRROR overrides it).

papt_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    local m
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -v '^ *#' | grep -o 'https\?://[^ ]*/debian/\?\( \|$\)' | grep -v security | head -1 | tr -d ' ')
    echo "${m:-http://deb.debian.org/debian}"
}

papt_opts() {
    local d=$1
    PAPT_OPTS=(-q -o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
               -o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/status" -o "Dir::Cache=$d/cache"
               -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
}

papt_init() {
    local d=$1; shift
    local mirror key=/usr/share/keyrings/debian-archive-keyring.gpg
    mirror=$(papt_mirror)
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
    : >"$d/status"
    : >"$d/sources.list"
    local sc
    for sc in "$@"; do
        echo "deb [signed-by=$key] $mirror ${sc%%:*} ${sc#*:}" >>"$d/sources.list"
    done
    papt_opts "$d"
    apt-get "${PAPT_OPTS[@]}" update >"$d/update.log" 2>&1 || { cat "$d/update.log" >&2; return 1; }
    # apt-get update succeeds with a warning when a suite cannot be fetched: ask for the lists
    grep -q '^\(W\|E\):' "$d/update.log" && { cat "$d/update.log" >&2; return 1; }
    return 0
}

papt_download() {
    local d=$1 dest=$2; shift 2
    mkdir -p "$dest"
    papt_opts "$d"
    (cd "$dest" && apt-get "${PAPT_OPTS[@]}" download "$@")
}
