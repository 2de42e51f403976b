#!/usr/bin/python3
"""The K3s configuration as K3s reads it, independently of k3s-harden's C code.

  k3s_effective.py check FRESH BEFORE AFTER

FRESH, BEFORE and AFTER are roots. FRESH holds the configuration the profile
renders for an empty host (the managed keys and their values); BEFORE the
user's files; AFTER the files after `apply`. Checks that every user option
reads as before, every user entry of a managed list is still there in order,
every hardening value is present once, and no entry is empty or null.
Prints one line per problem and exits 1 if there is any.
"""
import glob
import os
import sys

import yaml


def files(root):
    base = os.path.join(root, "etc/rancher/k3s")
    out = [os.path.join(base, "config.yaml")]
    d = os.path.join(base, "config.yaml.d")
    out += sorted(glob.glob(os.path.join(d, "*.yaml")) + glob.glob(os.path.join(d, "*.yml")))
    return [f for f in out if os.path.isfile(f)]


def text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def effective(root):
    """name -> list of string values, K3s's order: a plain key replaces, key+ appends."""
    eff = {}
    for f in files(root):
        with open(f, "rb") as fh:
            doc = yaml.safe_load(fh)
        if not doc:
            continue
        for key, val in doc.items():
            name, plus = (key[:-1], True) if key.endswith("+") else (key, False)
            vals = [] if val is None else [text(x) for x in val if x is not None] \
                if isinstance(val, list) else [val] if isinstance(val, dict) else [text(val)]
            eff[name] = (eff.get(name, []) if plus else []) + vals
    return eff


def flag(entry):
    return entry.lstrip("-").split("=", 1)[0]


def value(entry):
    return entry.split("=", 1)[1] if "=" in entry else ""


def check(fresh, before, after):
    want, old, new = effective(fresh), effective(before), effective(after)
    problems = []
    lists = {k: {flag(e): value(e) for e in v} for k, v in want.items() if k.endswith("-arg")}
    for name, vals in old.items():
        if name in want and name not in lists:
            continue
        if name not in lists:
            if new.get(name) != vals:
                problems.append("%s: was %r, now %r" % (name, vals, new.get(name)))
            continue
        ours = lists[name]
        enable = set(value(next((e for e in new.get(name, []) if flag(e) == "enable-admission-plugins"), "x=")).split(","))
        keep = []
        for e in vals:
            if flag(e) in ours:
                continue
            if flag(e) == "disable-admission-plugins":
                rest = [p for p in value(e).split(",") if p and p not in enable]
                if not rest:
                    continue
                e = "disable-admission-plugins=" + ",".join(rest) if rest != value(e).split(",") else e
            keep.append(e)
        got = [e for e in new.get(name, []) if flag(e) not in ours]
        if got != keep:
            problems.append("%s: user entries were %r, now %r" % (name, keep, got))
    for name, vals in want.items():
        got = new.get(name)
        if name not in lists:
            if got != vals:
                problems.append("%s: want %r, K3s reads %r" % (name, vals, got))
            continue
        for f, v in lists[name].items():
            mine = [e for e in (got or []) if flag(e) == f]
            if len(mine) != 1:
                problems.append("%s: %s appears %d times" % (name, f, len(mine)))
            elif f == "enable-admission-plugins":
                if not set(v.split(",")) <= set(value(mine[0]).split(",")):
                    problems.append("%s: %s lacks some of %s" % (name, mine[0], v))
            elif value(mine[0]) != v:
                problems.append("%s: %s, want %s=%s" % (name, mine[0], f, v))
        for e in got or []:
            if e in ("", "None", "~", "null"):
                problems.append("%s: an empty or null entry %r" % (name, e))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "check":
        sys.exit(__doc__)
    sys.exit(check(*sys.argv[2:]))
