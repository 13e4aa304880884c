#!/usr/bin/env python3
"""One short line per notable event of a ctxguard JSON log: action, call, caller, shared_with.
Used by scripts/gpu-test.sh and scripts/demo.sh. Foreign or truncated lines are counted, not fatal."""
import json, os, sys

def base(p):
    return os.path.basename(p) if p else "?"

def summarize(path):
    out, bad = [], 0
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        return "(no log)"
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if "summary" in e or "action" not in e:
            continue  # the library's exit summary, or not an event
        if e.get("action") == "allow" and e.get("reason") == "pass-through":
            continue
        shared = ",".join(base(p) for p in e.get("shared_with", [])) or "-"
        if e.get("decided_by") == "attribution":  # an explanation, not a decision
            out.append(f'attribution: {base(e.get("caller"))} {e["call"]} (result {e.get("result")}) <- reset by {shared}')
            continue
        if e.get("decided_by") == "device-switch":  # an explanation: another module moved the thread
            out.append(f'device-switch: {base(e.get("caller"))} {e["call"]} on device {e.get("device")} <- moved by {shared}')
            continue
        res = f' result {e.get("result")}' if e["action"] == "deny" else ""
        out.append(f'{e["action"]} {e["call"]} by {base(e.get("caller"))} ({e.get("ctx_kind")}; shared_with {shared}){res}')
    if bad:
        out.append(f"{bad} unparsable line(s)")
    return "; ".join(out) if out else "(nothing logged)"

if __name__ == "__main__":
    print(summarize(sys.argv[1]))
