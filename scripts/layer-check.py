#!/usr/bin/env python3
"""The library's layering, checked two ways.

1. Includes: a file in shim/<layer>/ includes headers of its own layer and of layers below it only
   (core < track < report < decide < doors; arch/ and init.c may include anything), never by a
   relative path ("../").
2. Symbols: from `nm` on the objects the library is linked from, object A "reaches" object B when A uses
   a symbol B defines.
   a. No object uses a symbol of a higher layer (core < track < report < decide < doors = arch <
      init.c). The one exception: the entry points (doors/, arch/) start initialisation through
      cg_init_slow (init.c); nothing below them may (a lower layer that did once hung the host).
   b. The largest set of objects that all reach each other (a strongly connected component) has at
      most --max-knot objects: only the entry points may stay one knot.

usage: layer-check.py OBJDIR OBJECT.o... [--max-knot N] [--print]
(the objects the library is linked from; OBJDIR only shortens their names)
Exit 0 when both hold; 1 (and what breaks them) otherwise.
"""
import os
import re
import subprocess
import sys

LAYERS = ["core", "track", "report", "decide", "doors"]
RANK = {"core": 0, "track": 1, "report": 2, "decide": 3, "doors": 4, "arch": 4, "init": 5}
# upward uses that are the design: the entry points start initialisation
ALLOWED_UP = {("doors", "init", "cg_init_slow"), ("arch", "init", "cg_init_slow")}


def layer_of(obj, objdir):
    """The layer an object belongs to, from the folder it was built in (obj/<layer>/x.o, obj/init.o)."""
    parts = os.path.normpath(obj).split(os.sep)
    if parts[-1] in ("init.o", "version_main.o"):  # the wiring, and the library run as a program
        return "init"
    for p in reversed(parts[:-1]):
        if p in RANK:
            return p
    return None


def check_includes(root):
    bad = []
    for layer in LAYERS:
        d = os.path.join(root, "shim", layer)
        for f in sorted(os.listdir(d)):
            if not f.endswith((".c", ".h", ".def", ".in")):
                continue
            for n, line in enumerate(open(os.path.join(d, f), encoding="utf-8"), 1):
                if re.match(r'\s*#\s*include\s+"\.\./', line):
                    bad.append(f"shim/{layer}/{f}:{n}: a relative include hides the layer it reaches")
                m = re.match(r'\s*#\s*include\s+"([a-z0-9_]+)/', line)
                if m and m.group(1) in LAYERS and LAYERS.index(m.group(1)) > LAYERS.index(layer):
                    bad.append(f"shim/{layer}/{f}:{n}: {layer} includes {m.group(1)}/ (a higher layer)")
    return bad


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRCVWGS" and not parts[2].startswith("."):
            defined.add(parts[2])
    return defined, used


def knots(objs):
    objs = sorted(objs)
    defs, uses = {}, {}
    for o in objs:
        defs[o], uses[o] = symbols(o)
    owner = {}
    for o in objs:
        for s in defs[o]:
            owner.setdefault(s, o)
    edges = {o: sorted({owner[s] for s in uses[o] if s in owner and owner[s] != o}) for o in objs}
    via = {}
    for o in objs:
        for s in sorted(uses[o]):
            if s in owner and owner[s] != o:
                via.setdefault((o, owner[s]), []).append(s)
    # Tarjan's strongly connected components
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for o in objs:
        if o not in index:
            visit(o)
    return sorted(comps, key=len, reverse=True), edges, via


def upward(edges, via, objdir):
    bad = []
    for o, targets in edges.items():
        lo = layer_of(o, objdir)
        for t in targets:
            lt = layer_of(t, objdir)
            if lo not in RANK or lt not in RANK or RANK[lt] <= RANK[lo]:
                continue
            syms = [s for s in via[(o, t)] if (lo, lt, s) not in ALLOWED_UP]
            if syms:
                bad.append(f"{os.path.relpath(o, objdir)} ({lo}) uses {', '.join(syms)} of "
                           f"{os.path.relpath(t, objdir)} ({lt}): an upward call")
    return bad


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    objdir = args[0]
    max_knot = int(args[args.index("--max-knot") + 1]) if "--max-knot" in args else 5
    objs = [a for a in args[1:] if a.endswith(".o")]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bad = check_includes(root)
    comps, edges, via = knots(objs)
    bad += upward(edges, via, objdir)
    rel = lambda o: os.path.relpath(o, objdir)
    largest = comps[0] if comps else []
    if "--print" in args:
        for o in sorted(edges):
            print(f"{rel(o)} -> {', '.join(rel(w) for w in edges[o]) or '-'}")
    print(f"layer-check: {len(edges)} objects; largest knot {len(largest)} (limit {max_knot}): "
          f"{', '.join(rel(o) for o in largest)}")
    for b in bad:
        print("layer-check: " + b)
    if len(largest) > max_knot:
        print(f"layer-check: a knot of {len(largest)} objects reach each other; break it (docs/architecture.md)")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
