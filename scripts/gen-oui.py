#!/usr/bin/env python3
"""Regenerates crates/wardwatch-inventory/data/oui.tsv from Debian's
`ieee-data` package (IEEE MA-L, MA-M, MA-S and IAB registries; public domain).

    apt-get install ieee-data && python3 scripts/gen-oui.py

Output: one line per assignment, `PREFIX<TAB>BITS<TAB>ORGANIZATION`, sorted.
"""
import csv
import os
import sys

SRC = "/usr/share/ieee-data"
FILES = [("oui.csv", 24), ("mam.csv", 28), ("oui36.csv", 36), ("iab.csv", 36)]
OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "wardwatch-inventory", "data", "oui.tsv")

rows = {}
for name, bits in FILES:
    path = os.path.join(SRC, name)
    if not os.path.exists(path):
        sys.exit(f"{path} missing: apt-get install ieee-data")
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for r in csv.DictReader(f):
            prefix = r["Assignment"].strip().upper()
            org = " ".join(r["Organization Name"].split())
            if len(prefix) * 4 != bits or not org or org.lower() == "private":
                continue
            rows[(bits, prefix)] = org.replace("\t", " ")

with open(OUT, "w", encoding="utf-8") as out:
    out.write("# IEEE Registration Authority assignments (MA-L/MA-M/MA-S/IAB), from Debian ieee-data; public domain.\n")
    for (bits, prefix), org in sorted(rows.items()):
        out.write(f"{prefix}\t{bits}\t{org}\n")
print(f"{len(rows)} assignments -> {OUT}")
