#!/usr/bin/env python3
"""Check benchmarks/*.yaml and show each stable key's control ID per version.

usage: tools/bench-keys.py [--table | --markdown] [DIR]

Exit 0 when every file has the shape benchmarks/README.md describes and every
key means one thing across versions (same section, same component); 1 with
FILE: ID: message lines otherwise. --table prints key, then the ID in each
benchmark (oldest first), '-' where the benchmark has no such control;
--markdown prints the same as the table in benchmarks/KEYS.md.
"""

import glob
import os
import re
import sys

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present

TOP = {"name", "title", "k3s_min", "k3s_max", "source", "k3s_range_source", "controls"}
CONTROL = {"id", "key", "title", "section", "scored", "type", "assessment",
           "skip", "role", "remedy", "note", "test"}
REQUIRED = CONTROL - {"note"}
TEST = {"component", "config", "config_file", "file", "multiple", "bin_op", "items"}
ITEM = {"flag", "path", "op", "value"}
ENUM = {
    "section": {"master", "etcd", "controlplane", "node", "policies"},
    "type": {"automated", "manual"},
    "assessment": {"automated", "manual"},
    "role": {"server", "agent", "both"},
    "remedy": {"host", "cluster", "manual", "na"},
}
COMPONENTS = {"kube-apiserver", "kube-controller-manager", "kube-scheduler",
              "kubelet", "kube-proxy", "etcd", "file", "sysctl", "cluster", "none"}
CONFIGS = {"kubelet", "kube-proxy", "etcd", "encryption-provider"}
OPS = {"set", "unset", "eq", "noteq", "gte", "gt", "lt", "lte", "has",
       "nothave", "valid_elements", "bitmask", "regex"}
VALUE_OPS = OPS - {"set", "unset"}
KEY_RE = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")
ID_RE = re.compile(r"^[0-9]+(\.[0-9]+)+$")
VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+$")


def vkey(doc):
    # chronological: by the oldest K3s minor the benchmark covers
    return (tuple(int(x) for x in str(doc.get("k3s_min", "0.0")).split(".")),
            tuple(int(x) for x in doc["name"].rsplit("-", 1)[1].split(".")))


EXPECT_COMPONENT = {
    "apiserver": "kube-apiserver",
    "controller_manager": "kube-controller-manager",
    "scheduler": "kube-scheduler",
    "kubelet": "kubelet",
    "proxy": "kube-proxy",
    "etcd": "etcd",
}


def check_file(path, errs):
    def err(where, msg):
        errs.append("%s: %s: %s" % (path, where, msg))

    with open(path) as f:
        doc = yaml.load(f, Loader=Loader)
    if not isinstance(doc, dict):
        err("-", "not a mapping")
        return None
    for k in TOP - set(doc):
        err("-", "missing '%s'" % k)
    for k in set(doc) - TOP:
        err("-", "unknown field '%s'" % k)
    if doc.get("name") != os.path.basename(path)[:-5]:
        err("name", "'%s' does not match the file name" % doc.get("name"))
    for k in ("k3s_min", "k3s_max"):
        if not isinstance(doc.get(k), str) or not VERSION_RE.match(doc[k]):
            err(k, "want a quoted MAJOR.MINOR")
    seen_id, seen_key = {}, {}
    for c in doc.get("controls") or []:
        cid = c.get("id", "?")
        if not isinstance(cid, str) or not ID_RE.match(cid):
            err(cid, "id must be a quoted dotted number")
        for k in REQUIRED - set(c):
            err(cid, "missing '%s'" % k)
        for k in set(c) - CONTROL:
            err(cid, "unknown field '%s'" % k)
        for k, allowed in ENUM.items():
            if k in c and c[k] not in allowed:
                err(cid, "%s '%s' not one of %s" % (k, c[k], sorted(allowed)))
        for k in ("scored", "skip"):
            if k in c and not isinstance(c[k], bool):
                err(cid, "%s must be true or false" % k)
        for k in ("title", "note"):
            if k in c and not isinstance(c[k], str):
                err(cid, "%s must be a string" % k)
        if c.get("remedy") == "na" and not c.get("note"):
            err(cid, "remedy na needs a note")
        if c.get("skip") and c.get("remedy") != "na" and "permissive" not in c.get("note", ""):
            err(cid, "skipped by kube-bench but remedy is not na")
        key = c.get("key", "")
        if not KEY_RE.match(str(key)):
            err(cid, "key '%s' is not component.idea" % key)
        if cid in seen_id:
            err(cid, "duplicate id")
        seen_id[cid] = True
        if key in seen_key:
            err(cid, "key '%s' also used by %s" % (key, seen_key[key]))
        seen_key[key] = cid
        t = c.get("test")
        if not isinstance(t, dict):
            err(cid, "test must be a mapping")
            continue
        for k in set(t) - TEST:
            err(cid, "unknown test field '%s'" % k)
        if t.get("component") not in COMPONENTS:
            err(cid, "component '%s' unknown" % t.get("component"))
        if "config" in t and t["config"] not in CONFIGS:
            err(cid, "config '%s' unknown" % t["config"])
        if t.get("bin_op") not in ("and", "or"):
            err(cid, "bin_op must be and|or")
        if "multiple" in t and not isinstance(t["multiple"], bool):
            err(cid, "multiple must be true or false")
        items = t.get("items")
        if not isinstance(items, list):
            err(cid, "items must be a list")
            continue
        for it in items:
            for k in set(it) - ITEM:
                err(cid, "unknown item field '%s'" % k)
            op = it.get("op")
            if op not in OPS:
                err(cid, "op '%s' unknown" % op)
            if op in VALUE_OPS and not isinstance(it.get("value"), str):
                err(cid, "op %s needs a string value" % op)
            if op in ("set", "unset") and "value" in it:
                err(cid, "op %s takes no value" % op)
            if "flag" not in it and "path" not in it:
                err(cid, "item without flag or path")
            for k in ("flag", "path"):
                if k in it and not isinstance(it[k], str):
                    err(cid, "%s must be a string" % k)
            if t.get("component") == "file" and it.get("flag") not in ("mode", "owner"):
                err(cid, "file test items are flag mode or owner")
    return doc


def main(argv):
    table = "--table" in argv
    markdown = "--markdown" in argv
    args = [a for a in argv if a not in ("--table", "--markdown")]
    d = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "benchmarks")
    errs = []
    docs = []
    for p in sorted(glob.glob(os.path.join(d, "k3s-cis-*.yaml"))):
        doc = check_file(p, errs)
        if doc:
            docs.append(doc)
    docs.sort(key=vkey)
    # one key, one idea: the same section in every version, and a test that
    # reads the key's component unless the note says kube-bench reads another
    meaning = {}
    for doc in docs:
        for c in doc.get("controls") or []:
            k = str(c.get("key"))
            comp = (c.get("test") or {}).get("component")
            want = EXPECT_COMPONENT.get(k.split(".")[0])
            if want and comp not in (want, "none", "file", "cluster") and \
                    "kube-bench reads this from the %s command line" % comp not in c.get("note", ""):
                errs.append("%s: %s: key '%s' wants %s, test reads %s" % (
                    doc["name"], c.get("id"), k, want, comp))
            if k.startswith("file.") and comp not in ("file", "none"):
                errs.append("%s: %s: file key with a %s test" % (doc["name"], c.get("id"), comp))
            prev = meaning.get(k)
            if prev is None:
                meaning[k] = (c.get("section"), doc["name"], c.get("id"))
            elif prev[0] != c.get("section"):
                errs.append("%s: %s: key '%s' is in section %s there, %s in %s %s" % (
                    doc["name"], c.get("id"), k, c.get("section"), prev[0], prev[1], prev[2]))
    for e in errs:
        print(e, file=sys.stderr)
    if markdown:
        names = [x["name"].replace("k3s-cis-", "") for x in docs]
        ids, last, order = {}, {}, []
        for doc in docs:
            for c in doc["controls"]:
                if c["key"] not in ids:
                    ids[c["key"]] = {}
                    order.append(c["key"])
                ids[c["key"]][doc["name"]] = c["id"]
                last[c["key"]] = c
        order.sort(key=lambda k: [int(x) for x in ids[k][next(iter(ids[k]))].split(".")])
        print("<!-- generated by tools/bench-keys.py --markdown; do not edit -->")
        print("# Stable control keys\n")
        print("Each key names one benchmark recommendation across versions; the columns give its")
        print("control ID in each benchmark (`-`: not in that benchmark). The title is the newest")
        print("benchmark's; remedy is the newest benchmark's (see README.md).\n")
        print("| key | remedy | title | " + " | ".join(names) + " |")
        print("|---|---|---|" + "---|" * len(names))
        for k in order:
            c = last[k]
            print("| `%s` | %s | %s | %s |" % (k, c["remedy"], c["title"].replace("|", "\\|"),
                                            " | ".join(ids[k].get(x["name"], "-") for x in docs)))
    if table:
        names = [x["name"].replace("k3s-cis-", "") for x in docs]
        ids = {}
        order = []
        for doc in docs:
            for c in doc["controls"]:
                if c["key"] not in ids:
                    ids[c["key"]] = {}
                    order.append(c["key"])
                ids[c["key"]][doc["name"]] = c["id"]
        order.sort(key=lambda k: [int(x) for x in ids[k][next(iter(ids[k]))].split(".")])
        w = max(len(k) for k in order)
        print("%-*s %s" % (w, "key", " ".join("%-7s" % n for n in names)))
        for k in order:
            print("%-*s %s" % (w, k, " ".join("%-7s" % ids[k].get(x["name"], "-") for x in docs)))
    n = sum(len(x["controls"]) for x in docs)
    print("%d files, %d controls, %d keys, %d errors" % (len(docs), n, len(meaning), len(errs)),
          file=sys.stderr)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
