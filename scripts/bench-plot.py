"""Draws docs/benchmarks/warm.png from warm.json (scripts/bench.sh runs it): per function, the
handler's p50 and p99 beside the bare store calls' p50 and the same calls with the caller's read.

    python bench-plot.py docs/benchmarks/warm.json docs/benchmarks/warm.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as f:
        report = json.load(f)
    rows = report["warm"]
    names = [row["function"] for row in rows]
    positions = range(len(rows))
    height = 0.27

    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.5))
    handler = [row["p50_ms"] for row in rows]
    p99_above = [row["p99_ms"] - row["p50_ms"] for row in rows]
    ax.barh(
        [p - height for p in positions],
        handler,
        height,
        xerr=[[0] * len(rows), p99_above],
        error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#444"},
        label="handler p50 (whisker: p99)",
        color="#1f77b4",
    )
    ax.barh(
        list(positions),
        [row["with_caller_p50_ms"] or 0 for row in rows],
        height,
        label="bare calls + caller's read, p50",
        color="#ff7f0e",
    )
    ax.barh(
        [p + height for p in positions],
        [row["bare_p50_ms"] or 0 for row in rows],
        height,
        label="bare calls p50",
        color="#2ca02c",
    )
    ax.set_yticks(list(positions))
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ms (log scale)")
    context = report.get("context", {})
    ax.set_title(
        f"Warm latency per function, {context.get('date', '')}: DynamoDB Local on loopback, "
        f"{context.get('machine', '')}",
        fontsize=9,
    )
    ax.grid(axis="x", which="both", linewidth=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
