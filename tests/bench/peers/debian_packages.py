#!/usr/bin/python3
"""A real sparse dataset from Debian's own package index, for the
parameter-server benchmark (bench_ps_peers).

Reads the binary-package index apt keeps (the Packages files of
/var/lib/apt/lists, compressed or not, read through apt-helper), one row per
package, and writes TRAIN and TEST CSVs (about 4 packages in 5 train, by a
hash of the package's name, so the split is the same on every machine with
the same index).

The label `library` is 1 when the package's section is libs, libdevel or
oldlibs (whatever the archive area: main, contrib/..., non-free/...), else
0. The columns: `description` (the one-line description, as text: hashed
tokens), `depends` (the names of the packages it depends on, as text),
`installed_size` (KiB), `architecture`, `maintainer`, `priority` and
`multi_arch`. The package's name and its debtags are left out: "lib..." and
role::shared-lib give the label away.

Usage: debian_packages.py TRAIN.csv TEST.csv [LISTS_DIR]
Prints one JSON line: {"rows": N, "train": n, "test": m, "positives": p,
"sources": [...]}.
"""

import csv
import glob
import json
import os
import re
import subprocess
import sys
import zlib


def read_index(path):
    if path.endswith((".lz4", ".gz", ".xz", ".zst", ".bz2")):
        return subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path],
                              check=True, capture_output=True).stdout.decode(
                                  "utf-8", "replace")
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def stanzas(text):
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.split("\n"):
            if not line:
                continue
            if line[0] in " \t":
                if key:
                    fields[key] += "\n" + line.strip()
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if "Package" in fields:
            yield fields


def main():
    train_path, test_path = sys.argv[1], sys.argv[2]
    lists = sys.argv[3] if len(sys.argv) > 3 else "/var/lib/apt/lists"
    sources = sorted(glob.glob(os.path.join(lists, "*_binary-*_Packages*")))
    if not sources:
        sys.exit("no Packages index in %s: run apt-get update" % lists)
    seen = set()
    rows = []
    for src in sources:
        for f in stanzas(read_index(src)):
            name = f["Package"]
            if name in seen:
                continue
            seen.add(name)
            section = f.get("Section", "").split("/")[-1]
            depends = " ".join(
                re.split(r"[\s(]", d.strip())[0]
                for d in re.split(r"[,|]", f.get("Depends", "")) if d.strip())
            rows.append({
                "library": 1 if section in ("libs", "libdevel", "oldlibs") else 0,
                "description": f.get("Description", "").split("\n")[0],
                "depends": depends,
                "installed_size": f.get("Installed-Size", ""),
                "architecture": f.get("Architecture", ""),
                "maintainer": f.get("Maintainer", ""),
                "priority": f.get("Priority", ""),
                "multi_arch": f.get("Multi-Arch", ""),
                "_name": name,
            })
    cols = ["library", "description", "depends", "installed_size",
            "architecture", "maintainer", "priority", "multi_arch"]
    n_train = n_test = 0
    with open(train_path, "w", newline="") as tr, \
            open(test_path, "w", newline="") as te:
        wt, we = csv.writer(tr), csv.writer(te)
        wt.writerow(cols)
        we.writerow(cols)
        for r in rows:
            test = zlib.crc32(r["_name"].encode()) % 5 == 0
            (we if test else wt).writerow([r[c] for c in cols])
            n_test += test
            n_train += not test
    print(json.dumps({"rows": len(rows), "train": n_train, "test": n_test,
                      "positives": sum(r["library"] for r in rows),
                      "sources": [os.path.basename(s) for s in sources]}))


if __name__ == "__main__":
    main()
