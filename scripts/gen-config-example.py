#!/usr/bin/env python3
"""Regenerates docs/wardwatch.toml.example from the doc comments and defaults
of DetectConfig (wardwatch-detect) and RiskConfig (wardwatch-risk), so the
example always lists every key with its doc line and default."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def section(path, struct):
    s = open(os.path.join(ROOT, path)).read()
    block = s[s.index(f"pub struct {struct} {{"):s.index(f"impl Default for {struct}")]
    fields = re.findall(r"((?:\s*///[^\n]*\n)+)\s*pub (\w+):", block)
    d = s[s.index(f"impl Default for {struct}"):]
    d = d[:d.index("\n}\n")]
    vals = dict(re.findall(r"(\w+): ([^,\n]+),", d))
    out = []
    for doc, name in fields:
        for line in doc.strip().splitlines():
            out.append("# " + line.strip().lstrip("/").strip())
        v = vals[name].strip()
        m = re.match(r"(\d+) << (\d+)", v)
        if m:
            v = str(int(m.group(1)) << int(m.group(2)))
        v = v.replace("_", "")
        out.append(f"{name} = {v}")
        out.append("")
    return out


lines = [
    "# wardwatch.toml: the site configuration, read from the data directory",
    "# (--data-dir, default ./wardwatch-data). Every key is optional; the values",
    "# shown are the defaults unless marked as an example.",
    "# Regenerate with scripts/gen-config-example.py.",
    "",
    "# Site name; scopes device and finding ids (--site wins).",
    '# site = "st-elsewhere"',
    "",
    "# The site's own public address blocks, treated as local (example).",
    'local_nets = ["198.51.100.0/24"]',
    "",
    "[detect]",
] + section("crates/wardwatch-detect/src/lib.rs", "DetectConfig") + [
    "[risk]",
    "# Risk weights: points a factor adds at full strength (docs/risk.md).",
] + section("crates/wardwatch-risk/src/lib.rs", "RiskConfig")
open(os.path.join(ROOT, "docs/wardwatch.toml.example"), "w").write("\n".join(lines).rstrip() + "\n")
