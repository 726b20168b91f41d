"""A bench's statistics over seeds, as COCO and IOHprofiler report them, and its tables; and what its rows
say about the model."""

from __future__ import annotations

import math
import statistics
from typing import Any

from llmopt.bench import health
from llmopt.core.direction import gap_pct, to_loss, worst
from llmopt.core.stats import bootstrap_ci, ert, holm, median, quantiles, rank_sum_p
from llmopt.report.tables import one_reference, reference_note, text_table


def model_notes(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the rows say about the model and the comparison (`health.not_a_comparison`): runs whose model
    requests mostly failed or that crashed, no method with a result; answers cut off; adaptations."""
    from llmopt.core.result import Counts

    runs = [
        health.Row(
            f"{row['method']} (seed {row['seed']})",
            row.get("kind", ""),
            row.get("stop_reason") or "",
            Counts.from_dict(row["counts"]),
            row.get("last_request_error"),
        )
        for row in rows
        if "counts" in row
    ]
    failed, broken = health.not_a_comparison(runs)
    cut = health.cut_off_warning(run.counts for run in runs)
    notes = list(dict.fromkeys(note for row in rows for note in row.get("adaptations", [])))
    return {
        **({"model_failed": failed} if failed else {}),
        **({"evaluations_failed": broken} if broken else {}),
        **({"warning": cut} if cut else {}),
        **({"adaptations": notes} if notes else {}),
    }


def _mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4g} ± {sd:.2g}"


def _groups(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["label"], row["method"]), []).append(row)
    return groups


def references(rows: list[dict[str, Any]]) -> dict[str, tuple[float, ...] | None]:
    """Each label's one reference point (None with one objective), against which every hypervolume of its rows
    is measured; a ValueError when the rows of a label were measured against different points."""
    labels = dict.fromkeys(row["label"] for row in rows)
    return {
        label: one_reference((row.get("reference") for row in rows if row["label"] == label), f"the runs of {label}")
        for label in labels
    }


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per label and method, over seeds: final best (mean, sd, median, quartiles, bootstrap 95 % interval
    of the median), gap to the optimum, success rate, ERT, evaluations and steps to the target, and the
    two-sided rank-sum p-value of its final best against OPRO's (the first OPRO row of the label when a
    sweep made several), Holm-corrected over the methods of the label. With several objectives the final best
    is the hypervolume against the label's one reference point (`references`: rows with different ones are a
    ValueError), which each summary row names."""
    points = references(rows)
    out = [_statistics(label, method, group) for (label, method), group in _groups(rows).items()]
    for label in dict.fromkeys(s["label"] for s in out):
        mine = [s for s in out if s["label"] == label]
        point = points[label]
        for s in mine:
            s["reference"] = None if point is None else list(point)
        _at_equal_rounds(mine, [row for row in rows if row["label"] == label])
        studied = next((s for s in mine if s["under_study"]), None)
        raw = {
            s["method"]: rank_sum_p(s["best"], studied["best"])
            if studied is not None and s is not studied
            else math.nan
            for s in mine
        }
        adjusted = holm(raw)
        for s in mine:
            s["p_vs_opro"], s["p_against"] = adjusted[s["method"]], studied["method"] if studied else None
    return out


def _statistics(label: str, method: str, group: list[dict[str, Any]]) -> dict[str, Any]:
    first = group[0]
    direction = first.get("direction", "min")
    # a run that found no valid solution ranks last, it is not left out
    best = [
        r["best_value"] if r["best_value"] is not None and math.isfinite(r["best_value"]) else worst(direction)
        for r in group
    ]
    hits = [r for r in group if r["reached"]]
    targeted = first["target"] is not None
    q1, mid, q3 = quantiles(best, [0.25, 0.5, 0.75])
    reference = first["kind"] == "reference"
    gaps = [gap_pct(b, first.get("optimum"), direction) for b in best if math.isfinite(b)]
    return {
        "label": label,
        "method": method,
        "base_method": first.get("base_method", method),
        "direction": direction,
        "variant": first.get("variant", {}),
        "kind": first["kind"],
        "runs": len(group),
        "best": best,
        "under_study": first.get("under_study", False),
        "median": mid,
        "q1": q1,
        "q3": q3,
        "median_ci95": list(bootstrap_ci(best)),
        "gap_pct": [g for g in gaps if g is not None],
        "success_rate": len(hits) / len(group) if targeted else None,
        "ert": None
        if reference or not targeted
        else ert([r["n_evals"] for r in group], [r["evals_to_target"] for r in group]),
        "evals_to_target": [r["evals_to_target"] for r in hits if r["evals_to_target"] is not None],
        "steps_to_target": [r["steps_to_target"] for r in hits if r["steps_to_target"] is not None],
        "evals_used": [r["n_evals"] for r in group],
        "budget": first["budget"],
        "cost_usd": [r["cost_usd"] for r in group if r.get("cost_usd") is not None],
    }


def _at_equal_rounds(summary: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Each method's median best after R rounds, R the fewest rounds any evaluating run of the label used:
    the comparison at equal wall-clock time when evaluations ran side by side (None when none did)."""
    curves = [row.get("best_by_round") or [] for row in rows if row["kind"] != "reference"]
    parallel = any(row.get("rounds", 0) and row["rounds"] < row["n_evals"] for row in rows)
    at = min((len(curve) for curve in curves if curve), default=0) if parallel else 0
    for s in summary:
        group = [row for row in rows if row["method"] == s["method"]]
        values = [row["best_by_round"][at - 1] for row in group if at and len(row.get("best_by_round") or []) >= at]
        values = [value for value in values if value is not None]
        s["at_rounds"] = at or None
        s["median_at_rounds"] = median(values) if values and s["kind"] != "reference" else None


def best_by_median(summary: list[dict[str, Any]]) -> str:
    """The method of `summarize`'s rows with the best median final value (a run with none ranks last)."""

    def key(s: dict[str, Any]) -> float:
        return to_loss(s["median"], s.get("direction", "min")) if math.isfinite(s["median"]) else math.inf

    return min(summary, key=key)["method"]


def _g(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


_SUMMARY_HEADER = (
    "problem",
    "method",
    "kind",
    "median [IQR]",
    "mean ± sd",
    "median 95% CI",
    "reached",
    "ERT",
    "steps to target",
    "evals used",
    "budget",
)


def summary_table(rows: list[dict[str, Any]]) -> str:
    """The statistics of `summarize` as a text table, one line per label and method."""
    summary = summarize(rows)
    against = {s["p_against"] for s in summary} - {None}
    studied = sorted({s["base_method"] for s in summary if s["under_study"]})
    p_column = (
        "p (Holm)"
        if not studied
        else f"p vs {studied[0]} (Holm)"
        if len(against) <= 1
        else f"p vs 1st {studied[0]} row (Holm)"
    )
    header = [*_SUMMARY_HEADER[:8], p_column, *_SUMMARY_HEADER[8:]]
    if summary and all(s["reference"] is not None for s in summary):  # several objectives: each value is a hypervolume
        header[3] = f"hypervolume {header[3]}"
    priced = any(s["cost_usd"] for s in summary)
    if priced:
        header.append("cost $ (mean ± sd)")
    rounds = next((s["at_rounds"] for s in summary if s.get("at_rounds")), None)
    if rounds:  # evaluations ran side by side: the comparison at equal wall-clock time too
        header.insert(4, f"median @ {rounds} rounds")
    return "".join(f"{line}\n" for line in _reference_lines(summary)) + text_table(
        [header] + [_summary_row(s, rounds, priced) for s in summary]
    )


def _reference_lines(summary: list[dict[str, Any]]) -> list[str]:
    """The lines that state each label's reference point, where its values are hypervolumes."""
    points = {s["label"]: s["reference"] for s in summary if s["reference"] is not None}
    if len(points) == 1 and len({s["label"] for s in summary}) == 1:
        return [reference_note(next(iter(points.values())), "method and seed")]
    return [f"{label}: {reference_note(point, 'method and seed')}" for label, point in points.items()]


def _summary_row(s: dict[str, Any], rounds: int | None, priced: bool) -> list[str]:
    low, high = s["median_ci95"]
    return [
        s["label"],
        s["method"],
        s["kind"],
        f"{_g(s['median'])} [{_g(s['q1'])}, {_g(s['q3'])}]",
        *([_g(s["median_at_rounds"])] if rounds else []),
        _mean_sd([b for b in s["best"] if math.isfinite(b)]),
        f"[{_g(low)}, {_g(high)}]",
        "-" if s["success_rate"] is None else f"{round(s['success_rate'] * s['runs'])}/{s['runs']}",
        _g(s["ert"]),
        _g(s["p_vs_opro"]),
        _mean_sd(s["steps_to_target"]),
        "-" if s["kind"] == "reference" else _mean_sd(s["evals_used"]),
        str(s["budget"]),
        *([_mean_sd(s["cost_usd"])] if priced else []),
    ]


def paper_table(rows: list[dict[str, Any]]) -> str:
    """The shape of the paper's Tables 2 and 3, one line per label and method: gap to the optimum (over
    the runs that found a valid solution, counted when some did not), steps and distinct solutions
    evaluated up to the target (mean ± sd over the runs that reached it), and how many runs reached it."""
    lines = [
        [
            "problem",
            "method",
            "kind",
            "gap % (mean ± sd)",
            "steps to target",
            "solutions evaluated to target",
            "reached",
        ]
    ]
    for s in summarize(rows):
        no_count = s["kind"] == "reference"
        valid = f" (n={len(s['gap_pct'])}/{s['runs']})" if s["gap_pct"] and len(s["gap_pct"]) < s["runs"] else ""
        lines.append(
            [
                s["label"],
                s["method"],
                s["kind"],
                _mean_sd(s["gap_pct"]) + valid,
                "-" if no_count else _mean_sd(s["steps_to_target"]),
                "-" if no_count else _mean_sd(s["evals_to_target"]),
                "-" if s["success_rate"] is None else f"{round(s['success_rate'] * s['runs'])}/{s['runs']}",
            ]
        )
    return text_table(lines)
