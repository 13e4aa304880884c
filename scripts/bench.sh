#!/bin/sh
# make bench: CPU benchmarks on the fake CUDA libraries (see scripts/bench.py for the method).
cd "$(dirname "$0")/.." && exec python3 scripts/bench.py "$@"
