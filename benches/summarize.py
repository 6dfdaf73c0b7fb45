#!/usr/bin/env python3
"""Markdown tables from criterion's results (target/criterion/**/new/).

    cargo bench --features bench-modsecurity --bench engine --bench load
    python3 benches/summarize.py

Prints, per paranoia level, the median time per exchange of each case of the
mix for rasp and libmodsecurity and their ratio, then the CRS load times.
Medians are criterion's median estimates of the last run of each benchmark;
only benchmarks measured side by side in one run give meaningful ratios.

On a machine whose speed drifts, run the engine bench several times, copying
target/criterion away after each run, and pass the copies:

    python3 benches/summarize.py RUN1 RUN2 RUN3

which prints per case each run's rasp and libmodsecurity medians and their
ratio, then the median of the medians and the median of the ratios.
"""
import json
import os
import statistics
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CRITERION = os.environ.get("CRITERION_HOME", os.path.join(ROOT, "target", "criterion"))
CASES = ["benign_get", "json_post_1k", "form_post_4k", "multipart_64k", "sqli_get", "xss_json", "json_1m", "benign_get_varied"]


def medians(root=CRITERION):
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "estimates.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            meta = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        out[meta["full_id"]] = est["median"]["point_estimate"]  # nanoseconds
    return out


def fmt(ns):
    if ns is None:
        return "–"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e3:.1f} µs"


def several(roots):
    runs = [medians(r) for r in roots]
    for root, m in zip(roots, runs):
        if not m:
            sys.exit(f"no criterion results under {root}")
    for pl in (1, 4):
        print(f"\n### Engine time per exchange, full CRS, PL{pl}, {len(runs)} runs\n")
        print("| case | " + " | ".join(f"run {i + 1}: rasp / libmodsecurity / ratio" for i in range(len(runs)))
              + " | median rasp | median libmodsecurity | median ratio |")
        print("|---|" + "---|" * (len(runs) + 3))
        for case in CASES:
            cells, rasp, msc, ratios = [], [], [], []
            for m in runs:
                r, ms = m.get(f"pl{pl}/{case}/rasp"), m.get(f"pl{pl}/{case}/modsecurity")
                if r and ms:
                    cells.append(f"{fmt(r)} / {fmt(ms)} / {ms / r:.1f}×")
                    rasp.append(r)
                    msc.append(ms)
                    ratios.append(ms / r)
                else:
                    cells.append("–")
            if ratios:
                print(f"| {case} | " + " | ".join(cells) + f" | {fmt(statistics.median(rasp))} | "
                      f"{fmt(statistics.median(msc))} | {statistics.median(ratios):.1f}× |")


def main():
    if len(sys.argv) > 1:
        several(sys.argv[1:])
        return
    m = medians()
    if not m:
        sys.exit(f"no criterion results under {CRITERION}: run cargo bench first")
    for pl in (1, 4):
        rows = [
            (c, m.get(f"pl{pl}/{c}/rasp"), m.get(f"pl{pl}/{c}/modsecurity"), m.get(f"pl{pl}/{c}/zentinel"))
            for c in CASES
        ]
        if not any(r[1] for r in rows):
            continue
        zen = any(r[3] for r in rows)
        print(f"\n### Engine time per exchange, full CRS, PL{pl} (median)\n")
        head = "| case | rasp | libmodsecurity | libmodsecurity / rasp |"
        rule = "|---|---|---|---|"
        if zen:
            head += " zentinel-modsec | zentinel / rasp |"
            rule += "---|---|"
        print(head)
        print(rule)
        for case, r, ms, z in rows:
            ratio = f"{ms / r:.1f}×" if r and ms else "–"
            line = f"| {case} | {fmt(r)} | {fmt(ms)} | {ratio} |"
            if zen:
                zr = f"{z / r:.1f}×" if r and z else "–"
                line += f" {fmt(z)} | {zr} |"
            print(line)
    r, ms = m.get("load/crs_pl1/rasp"), m.get("load/crs_pl1/modsecurity")
    if r or ms:
        print("\n### Loading the full CRS (PL1, median)\n")
        print("| rasp (parse + compile) | libmodsecurity (parse) |")
        print("|---|---|")
        print(f"| {fmt(r)} | {fmt(ms)} |")


if __name__ == "__main__":
    main()
