#!/usr/bin/env python3
"""Medians of the benchmark runs: a table on stdout and, with --out, docs/bench.md
and docs/bench.png (gnuplot). Reads the lines bench/run.sh collected:

  rep=N RESULT driver=wsc kind=recv size=16 count=... mbps=... cpu_us_per_msg=... [p50_us=...]
  CALLGRIND driver=wsc kind=recv size=65536 count=300 ir=...
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys

DRIVERS = ["raw", "raw-bulk", "raw-framed", "wsc", "wsc-batched", "zephyr", "lws", "wslay"]
# Column names where the driver's name is not the library's.
NAMES = {"raw-bulk": "raw, large writes", "raw-framed": "raw, frame-sized writes",
         "wsc-batched": "wsc, batched (event API)",
         "zephyr": "wsc (Zephyr API)"}
# Columns compared with raw TCP in large writes rather than raw's default.
BASE = {"wsc-batched": "raw-bulk"}
# The libraries in the chart: driver, legend, colour.
LIBS = [("wsc", "wsc", "#1b9e77"), ("zephyr", "wsc (Zephyr API)", "#66a61e"),
        ("lws", "libwebsockets", "#d95f02"), ("wslay", "wslay", "#7570b3")]

# (label, kind, size, headline metric): the metric the issue compares for each workload.
WORKLOADS = [
    ("receive 16 B", "recv", 16, "mbps"),
    ("receive 128 B", "recv", 128, "mbps"),
    ("receive 64 KiB", "recv", 65536, "cpu"),
    ("receive 1 MiB", "recv", 1048576, "cpu"),
    ("receive 64 KiB text (UTF-8 validated)", "recv-text", 65536, "mbps"),
    ("send 128 B (masked)", "send", 128, "mbps"),
    ("send 64 KiB (masked)", "send", 65536, "mbps"),
    ("32 B echo round trip, same core", "echo", 32, "p50"),
]
METRIC = {
    "mbps": ("MB/s", "f_mbps", True),
    "cpu": ("client CPU us/msg", "f_cpu", False),
    "p50": ("p50 us", "f_p50", False),
}


def parse(path):
    runs, cg = {}, {}
    with open(path) as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if words[0] == "CALLGRIND":
                kv = dict(w.split("=", 1) for w in words[1:])
                cg[(kv["driver"], kv["kind"], int(kv["size"]))] = (
                    int(kv["ir"]) if kv["ir"].isdigit() else None,
                    int(kv["count"]),
                )
                continue
            if len(words) < 2 or words[1] != "RESULT":
                continue
            kv = dict(w.split("=", 1) for w in words[2:])
            d = kv["driver"]
            if d in ("raw", "wsc") and kv.get("bulk") == "1":
                d = d + ("-bulk" if d == "raw" else "-batched")
            elif d == "raw" and kv.get("framed") == "1":
                d = "raw-framed"
            key = (d, kv["kind"], int(kv["size"]))
            runs.setdefault(key, []).append(
                {
                    "rep": words[0],
                    "mbps": float(kv["mbps"]),
                    "cpu": float(kv["cpu_us_per_msg"]),
                    "p50": float(kv["p50_us"]) if "p50_us" in kv else None,
                    "p99": float(kv["p99_us"]) if "p99_us" in kv else None,
                }
            )
    return runs, cg


def median(runs, key, metric):
    vals = [r[metric] for r in runs.get(key, []) if r[metric] is not None]
    return statistics.median(vals) if vals else None


def rep_range(runs, lib, kind, size, metric):
    """Min and max over repetitions of lib/raw measured in the same repetition."""
    base = {r["rep"]: r[metric] for r in runs.get(("raw", kind, size), [])}
    ratios = [r[metric] / base[r["rep"]] for r in runs.get((lib, kind, size), [])
              if r[metric] is not None and base.get(r["rep"])]
    if len(ratios) < 2:
        return "-"
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def ratio(v, base):
    if v is None or base is None or base == 0:
        return ""
    r = v / base
    return f" ({r:.2f}x)" if r < 10 else f" ({r:.0f}x)"


def build_tables(runs, cg):
    drivers = [d for d in DRIVERS if any(k[0] == d for k in runs)]
    names = [NAMES.get(d, d) for d in drivers]
    head = "| workload | metric | " + " | ".join(names) + " | wsc/raw per repetition |"
    sep = "|---|---|" + "---|" * (len(drivers) + 1)
    main = [head, sep]
    cpu = ["| workload | " + " | ".join(names) + " |", "|---|" + "---|" * len(drivers)]
    chart = []  # (label, [cost relative to raw per lib])
    for label, kind, size, metric in WORKLOADS:
        name, _, higher_better = METRIC[metric]
        base = median(runs, ("raw", kind, size), metric)
        cells, rel = [], []
        for d in drivers:
            v = median(runs, (d, kind, size), metric)
            b = median(runs, (BASE[d], kind, size), metric) if d in BASE else base
            cells.append(fmt(v) + ("" if d == "raw" else ratio(v, b)))
        for lib, _, _ in LIBS:
            v = median(runs, (lib, kind, size), metric)
            if v is None or base is None or v == 0:
                rel.append(None)
            else:
                rel.append(base / v if higher_better else v / base)
        if all(c == "-" for c in cells):
            continue
        main.append(f"| {label} | {name} | " + " | ".join(cells)
                    + f" | {rep_range(runs, 'wsc', kind, size, metric)} |")
        chart.append((label, rel))
        base_cpu = median(runs, ("raw", kind, size), "cpu")
        cpu.append(f"| {label} | " + " | ".join(
            fmt(median(runs, (d, kind, size), "cpu"))
            + ("" if d == "raw" else ratio(median(runs, (d, kind, size), "cpu"),
                                          median(runs, (BASE[d], kind, size), "cpu")
                                          if d in BASE else base_cpu))
            for d in drivers) + " |")
        if metric == "p50":
            p99 = [fmt(median(runs, (d, kind, size), "p99")) for d in drivers]
            main.append(f"| {label} | p99 us | " + " | ".join(p99) + " | |")

    ipb = []
    if cg:
        cg_drivers = [d for d in DRIVERS if any(k[0] == d for k in cg)]
        ipb = ["| received payload | " + " | ".join(NAMES.get(d, d) for d in cg_drivers) + " |",
               "|---|" + "---|" * len(cg_drivers)]
        for label, kind, size in [("64 KiB binary", "recv", 65536),
                                  ("64 KiB text", "recv-text", 65536),
                                  ("128 B binary", "recv", 128)]:
            base = None
            row = []
            for d in cg_drivers:
                ir, count = cg.get((d, kind, size), (None, 0))
                if ir is None:
                    row.append("-")
                    continue
                v = ir / (count * size)
                if d == "raw":
                    base = v
                    row.append(f"{v:.2f}")
                else:
                    row.append(f"{v:.2f}" + (f" (+{v - base:.2f})" if base is not None else ""))
            ipb.append(f"| {label} | " + " | ".join(row) + " |")
    return main, cpu, ipb, chart


def framed_lines(runs):
    """wsc's sends against raw TCP writing what a WebSocket client must write: the
    kernel's cost per write depends on its size, so this is the like-for-like limit."""
    out = []
    for label, kind, size, _ in WORKLOADS:
        if kind != "send":
            continue
        for metric in ("mbps", "cpu"):
            v = median(runs, ("wsc", kind, size), metric)
            b = median(runs, ("raw-framed", kind, size), metric)
            r = median(runs, ("raw", kind, size), metric)
            if v is None or b is None or r is None:
                break
            name = METRIC[metric][0]
            out.append(f"- {label}, {name}: raw {fmt(r)}, raw with frame-sized writes {fmt(b)}"
                       f"{ratio(b, r)}, wsc {fmt(v)}{ratio(v, b)} of frame-sized writes")
    return out


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def run(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""

    here = os.path.dirname(os.path.abspath(__file__))
    commit = run(["git", "-C", here, "rev-parse", "--short", "HEAD"])
    if not commit:
        commit = os.environ.get("WSC_BENCH_COMMIT", "unknown")
    elif run(["git", "-C", here, "status", "--porcelain", "--", "../src", "../include"]):
        commit += " (with uncommitted library changes)"
    vers = []
    for pkg in ["libwebsockets-dev", "libwslay-dev"]:
        v = run(["dpkg-query", "-W", "-f=${Version}", pkg])
        if v:
            vers.append(f"{pkg} {v}")
    return (f"{os.cpu_count()} x {cpu}, Linux {platform.release()}; wsc {commit}; "
            + ", ".join(vers))


def write_chart(chart, out):
    dat = os.path.join(out, "bench.dat")
    with open(dat, "w") as f:
        for label, rel in chart:
            short = (label.replace("receive ", "recv ").replace(" (UTF-8 validated)", "")
                     .replace("64 KiB text", "text 64 KiB").replace(" (masked)", "")
                     .replace("32 B echo round trip, same core", "echo 32 B p50"))
            f.write(f'"{short}" ' + " ".join("NaN" if r is None else f"{r:.4f}" for r in rel)
                    + "\n")
    png = os.path.join(out, "bench.png")
    plots = ", \\\n     ".join(
        ("'" + dat + "' using 2:xtic(1)" if i == 0 else f"'' using {i + 2}")
        + f" title '{title}' lc rgb '{colour}'"
        for i, (_, title, colour) in enumerate(LIBS))
    script = f"""
set terminal pngcairo size 1100,520 font "sans,10"
set output '{png}'
set title "Cost relative to raw TCP (1 = raw; lower is better): MB/s workloads raw/lib, CPU and latency lib/raw"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.5:*]
set grid ytics
set xtics scale 0 font "sans,9"
set xrange [-0.6:{len(chart) - 0.4}]
set key top right
set ylabel "x raw"
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'
plot {plots}
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"note: no chart ({e}); install gnuplot-nox", file=sys.stderr)
    finally:
        os.remove(dat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out")
    ap.add_argument("--reps", type=int, default=1)
    a = ap.parse_args()
    runs, cg = parse(a.results)
    main_t, cpu_t, ipb_t, chart = build_tables(runs, cg)
    print("\nMedians (ratio to raw TCP in the same run; send ratios are to raw with one send() "
          "per message, wsc batched to raw in large writes)")
    print("\n".join(main_t))
    framed = framed_lines(runs)
    if framed:
        print("\nSends against raw TCP writing header + payload bytes per send()")
        print("\n".join(framed))
    print("\nClient CPU per message, us (user + system, getrusage)")
    print("\n".join(cpu_t))
    if ipb_t:
        print("\nUser-space instructions per received payload byte (callgrind; +N = above raw)")
        print("\n".join(ipb_t))
    if not a.out:
        return
    os.makedirs(a.out, exist_ok=True)
    md = os.path.join(a.out, "bench.md")
    with open(md, "w") as f:
        f.write("# Benchmark results\n\n")
        f.write("Written by `bench/run.sh` (see `bench/README.md` for what each workload does and "
                "how every driver verifies its data).\n\n")
        f.write(f"- Run: {datetime.date.today().isoformat()}, {a.reps} interleaved repetitions, "
                "medians; loopback, client and server on different cores "
                "(the echo on one core).\n")
        f.write(f"- Machine: {machine()}.\n\n")
        f.write("![relative cost chart](bench.png)\n\n")
        f.write("## Headline metric per workload\n\n"
                "Ratios are to raw TCP carrying the same payload in the same run; for sends, to "
                "raw TCP making one `send()` per message (the column \"raw, large writes\" "
                "sends 256 KiB per call; \"wsc, batched (event API)\" queues messages in a "
                "1 MiB output buffer and is compared with raw's large writes). For received "
                "64 KiB and 1 MiB messages raw TCP is paced by the sender and the kernel, so client CPU per message is compared.\n\n")
        f.write("\n".join(main_t) + "\n\n")
        if framed:
            f.write("## Sends against raw TCP with frame-sized writes\n\n"
                    "\"raw, frame-sized writes\" sends the same payload stream one `send()` "
                    "per message, each as long as the masked frame a WebSocket client writes "
                    "(payload + 6, 8 or 14 header bytes). The kernel's cost per write depends "
                    "on its size, so this is the like-for-like limit for sends:\n\n")
            f.write("\n".join(framed) + "\n\n")
        f.write("## Client CPU per message (us, user + system)\n\n")
        f.write("\n".join(cpu_t) + "\n\n")
        if ipb_t:
            f.write("## User-space instructions per received payload byte (callgrind)\n\n"
                    "Counted only while messages flow (connection setup excluded); every "
                    "driver, raw included, compares each payload with the expected bytes, so "
                    "the number in parentheses is what the library adds above raw TCP.\n\n")
            f.write("\n".join(ipb_t) + "\n")
    write_chart(chart, a.out)
    print(f"\nwrote {md} and {os.path.join(a.out, 'bench.png')}")


if __name__ == "__main__":
    main()
