"""Report of scripts/bench_scale.sh: one row per snapshot size, the fitted growth slope of each cost (the exponent of
pages in a log-log least-squares fit: 1 is linear, 0 flat), what each slope predicts at 32M pages, the growth curves
in docs/scale.png (when matplotlib is installed), rows for the environment-only build's `serve` when every size has
them, and the last line
`scale: <pages> pages, exact p99 <ms> ms, bm25 p99 <ms> ms, rss <MB> MB` for the largest size.
usage: scale_report.py OUT_DIR WORLDS...
"""
import json
import math
import sys

COSTS = [  # (name, getter, unit)
    ("record pages/s", lambda r: r["record_pages_per_s"], "pages/s"),
    ("disk bytes/page", lambda r: r["bytes_per_page"], "B"),
    ("merge", lambda r: r["merge_s"], "s"),
    ("optimize", lambda r: r["optimize_s"], "s"),
    ("verify", lambda r: r["verify_s"], "s"),
    ("serve open", lambda r: r["open_s"], "s"),
    ("RSS idle", lambda r: r["rss_idle_mb"], "MB"),
    ("RSS under load", lambda r: r["rss_peak_mb"], "MB"),
    ("exact req/s", lambda r: r["exact"]["rps"], "req/s"),
    ("exact p99", lambda r: r["exact"]["p99_ms"], "ms"),
    ("bm25 req/s", lambda r: r["bm25"]["rps"], "req/s"),
    ("bm25 p99", lambda r: r["bm25"]["p99_ms"], "ms"),
    ("browse p99", lambda r: r["browse"]["p99_ms"], "ms"),
    # The pass over every query before the load runs (16 connections), cold after the dropped page cache; absent in
    # results from before it.
    ("exact first pass", lambda r: r.get("exact_first", {}).get("seconds"), "s"),
    ("bm25 first pass", lambda r: r.get("bm25_first", {}).get("seconds"), "s"),
    ("4,096-call turn", lambda r: r["turn_s"], "s"),
]
# `serve` of the environment-only build (no libtorch), when the bench found one.
ENV_COSTS = [
    ("env-only: serve open", lambda r: r["env_only"]["open_s"], "s"),
    ("env-only: RSS idle", lambda r: r["env_only"]["rss_idle_mb"], "MB"),
    ("env-only: RSS under load", lambda r: r["env_only"]["rss_peak_mb"], "MB"),
    ("env-only: exact p99", lambda r: r["env_only"]["exact"]["p99_ms"], "ms"),
    ("env-only: bm25 p99", lambda r: r["env_only"]["bm25"]["p99_ms"], "ms"),
]


def slope(xs, ys):
    """Least-squares exponent b of y = a x^b over the points with positive values; None with fewer than two."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y and y > 0]
    if len(pts) < 2:
        return None, None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    var = sum((p[0] - mx) ** 2 for p in pts)
    if var == 0:
        return None, None
    b = sum((p[0] - mx) * (p[1] - my) for p in pts) / var
    return b, math.exp(my - b * mx)


def main():
    out, tiers = sys.argv[1], sorted({int(t) for t in sys.argv[2:]})
    rows = [json.load(open(f"{out}/tier-{t}/result.json")) for t in tiers]
    pages = [r["pages"] for r in rows]
    print("\n| cost | " + " | ".join(f"{p:,} pages" for p in pages) + " | slope | at 32M pages |")
    print("|---|" + "---:|" * (len(rows) + 2))
    fits = {}
    env_only = all(r.get("env_only") for r in rows)
    for name, get, unit in COSTS + (ENV_COSTS if env_only else []):
        ys = [get(r) for r in rows]
        b, a = slope(pages, ys)
        fits[name] = (b, a)
        at = f"{a * 32e6 ** b:,.3g} {unit}" if b is not None else "-"
        cells = " | ".join("-" if y is None else f"{y:,.3g}" for y in ys)
        print(f"| {name} ({unit}) | {cells} | {'-' if b is None else f'{b:.2f}'} | {at} |")
    for r in rows:
        bad = {k: r[k]["non2xx"] for k in ("exact", "bm25", "browse") if r[k]["non2xx"]}
        bad.update({k: r[k]["failed"] for k in ("exact_first", "bm25_first") if r.get(k, {}).get("failed")})
        if bad or r["turn_ok"] < 4096:
            print(f"note: {r['pages']:,} pages: non-2xx answers {bad}, turn calls answered {r['turn_ok']} of 4096")
    print(f"serve open measured with the page cache {rows[-1]['open']} (dropping it needs root outside a container)")
    plot(out, rows, pages, env_only)
    last = rows[-1]
    if env_only:
        e = last["env_only"]
        print(f"scale, environment-only build: exact p99 {e['exact']['p99_ms']:.1f} ms, "
              f"bm25 p99 {e['bm25']['p99_ms']:.1f} ms, rss {e['rss_peak_mb']:.0f} MB")
    print(f"scale: {last['pages']} pages, exact p99 {last['exact']['p99_ms']:.1f} ms, "
          f"bm25 p99 {last['bm25']['p99_ms']:.1f} ms, rss {last['rss_peak_mb']:.0f} MB")


def plot(out, rows, pages, env_only):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("docs/scale.png not drawn: matplotlib is not installed (pip install matplotlib)")
        return
    panels = [("latency p99 (ms)", ["exact p99", "bm25 p99", "browse p99"]),
              ("throughput (req/s)", ["exact req/s", "bm25 req/s"]),
              ("memory (MB)", ["RSS idle", "RSS under load"]
               + (["env-only: RSS idle", "env-only: RSS under load"] if env_only else [])),
              ("one-off costs (s)", ["serve open", "optimize", "verify", "merge"])]
    getters = {name: get for name, get, _ in COSTS + ENV_COSTS}
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6))
    for ax, (title, names) in zip(axes, panels):
        for name in names:
            ax.plot(pages, [getters[name](r) for r in rows], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("pages")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig("docs/scale.png", dpi=110)
    print("drew docs/scale.png")


if __name__ == "__main__":
    main()
