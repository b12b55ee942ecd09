"""Two realism-bench results side by side (``bench/bench_realism.py``'s results.json): before and after a change,
per arm and group, with each interval and whether the two 95% intervals separate.

  .venv/bin/python bench/realism_compare.py BEFORE/results.json AFTER/results.json [--groups overall per_mode]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

METRICS = (
    ("found_share", "found", True),
    ("mean_oks_found", "OKS (found)", False),
    ("oks50_share", "OKS >= 0.5", True),
)


def _value(stats: dict[str, Any] | None, key: str, percent: bool) -> str:
    if not stats or stats.get(key) is None:
        return "-"
    value, interval = stats[key], stats.get(f"{key}_ci")
    text = f"{100 * value:.0f}%" if percent else f"{value:.2f}"
    if interval:
        low, high = interval
        text += f" [{100 * low:.0f}, {100 * high:.0f}]" if percent else f" [{low:.2f}, {high:.2f}]"
    return text


def separated(before: dict[str, Any] | None, after: dict[str, Any] | None, key: str) -> str:
    """ "up" / "down" when the two intervals do not overlap, "no" when they do, "-" without both."""
    a = (before or {}).get(f"{key}_ci")
    b = (after or {}).get(f"{key}_ci")
    if not a or not b:
        return "-"
    return "up" if b[0] > a[1] else "down" if b[1] < a[0] else "no"


def table(before: dict[str, Any], after: dict[str, Any], group_key: str) -> str:
    rows = [
        "| group | arm | people before / after | "
        + " | ".join(f"{label} before | {label} after | separate" for _k, label, _p in METRICS)
        + " |",
        "|---|---|---|" + "---|---|---|" * len(METRICS),
    ]
    groups_before, groups_after = before.get(group_key, {}), after.get(group_key, {})
    names = groups_after if group_key != "overall" else {"all": after["overall"]}
    for group in sorted(names):
        per_arm_after = groups_after.get(group, {}) if group_key != "overall" else after["overall"]
        per_arm_before = groups_before.get(group, {}) if group_key != "overall" else before["overall"]
        for arm in sorted(per_arm_after):
            a, b = per_arm_before.get(arm), per_arm_after.get(arm)
            cells = [
                f"{_value(a, key, percent)} | {_value(b, key, percent)} | {separated(a, b, key)}"
                for key, _label, percent in METRICS
            ]
            people = f"{(a or {}).get('people', 0)} / {b.get('people', 0)}"
            rows.append(f"| {group} | {arm} | {people} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--groups", nargs="+", default=["overall", "per_mode", "per_pose_kind", "per_height"])
    args = parser.parse_args(argv)
    before, after = (json.loads(p.read_text()) for p in (args.before, args.after))
    for group in args.groups:
        print(f"\n{group}\n\n{table(before, after, group)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
