"""The strict TSPLIB reader: every weight type and explicit format, with hand-checked distances."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llmopt.problems.tsp.tsplib import TSPLIBError, parse_tsplib, read_tsplib

ROOT = Path(__file__).resolve().parents[3]


def coord_file(weight_type: str, coords: list[tuple[float, float]], name: str = "t") -> str:
    body = "\n".join(f"{i} {x} {y}" for i, (x, y) in enumerate(coords, 1))
    return (
        f"NAME : {name}\nTYPE : TSP\nCOMMENT : test\nDIMENSION : {len(coords)}\n"
        f"EDGE_WEIGHT_TYPE : {weight_type}\nNODE_COORD_SECTION\n{body}\nEOF\n"
    )


# A(0,0), B(3,4), C(1,1): |AB| = 5 exactly, |AC| = 1.414, |BC| = 3.606.
TRIANGLE = [(0, 0), (3, 4), (1, 1)]


def test_euc_2d_rounds_to_nearest() -> None:
    dist = parse_tsplib(coord_file("EUC_2D", TRIANGLE)).dist
    assert dist[0, 1] == 5 and dist[0, 2] == 1 and dist[1, 2] == 4


def test_ceil_2d_rounds_up() -> None:
    dist = parse_tsplib(coord_file("CEIL_2D", TRIANGLE)).dist
    assert dist[0, 1] == 5 and dist[0, 2] == 2 and dist[1, 2] == 4


def test_att_pseudo_euclidean() -> None:
    # r = sqrt(d²/10): 3.162 -> 4 (t=3 < r), 9.487 -> 10, exactly 10 -> 10.
    dist = parse_tsplib(coord_file("ATT", [(0, 0), (10, 0), (0, 30)])).dist
    assert dist[0, 1] == 4 and dist[0, 2] == 10 and dist[1, 2] == 10


def test_geo_great_circle() -> None:
    # One degree of longitude on the equator: 6378.388 · 3.141592/180 + 1 = 112.32 -> 112.
    # 10°30' of latitude (DDD.MM = 10.30): 6378.388 · 10.5 · 3.141592/180 + 1 = 1169.88 -> 1169.
    dist = parse_tsplib(coord_file("GEO", [(0.0, 0.0), (0.0, 1.0), (10.30, 0.0)])).dist
    assert dist[0, 1] == 112 and dist[0, 2] == 1169
    assert dist[1, 0] == dist[0, 1]


MATRIX = np.array([[0, 3, 4, 5], [3, 0, 6, 7], [4, 6, 0, 1], [5, 7, 1, 0]], dtype=float)
EXPLICIT = {
    "FULL_MATRIX": "0 3 4 5\n3 0 6 7\n4 6 0 1\n5 7 1 0",
    "UPPER_ROW": "3 4 5\n6 7\n1",
    "LOWER_ROW": "3\n4 6\n5 7 1",
    "UPPER_DIAG_ROW": "0 3 4 5\n0 6 7\n0 1\n0",
    "LOWER_DIAG_ROW": "0\n3 0\n4 6 0\n5 7 1 0",
}


def explicit_file(fmt: str, section: str | None = None, dimension: int = 4) -> str:
    return (
        f"NAME: m4\nTYPE: TSP\nDIMENSION: {dimension}\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
        f"EDGE_WEIGHT_FORMAT: {fmt}\nEDGE_WEIGHT_SECTION\n{section or EXPLICIT[fmt]}\nEOF\n"
    )


@pytest.mark.parametrize("fmt", sorted(EXPLICIT))
def test_explicit_formats(fmt: str) -> None:
    instance = parse_tsplib(explicit_file(fmt))
    assert np.array_equal(instance.dist, MATRIX)
    assert instance.coords is None and instance.edge_weight_type == "EXPLICIT"


def test_explicit_with_display_data() -> None:
    text = explicit_file("UPPER_ROW").replace("EOF\n", "DISPLAY_DATA_SECTION\n1 0 0\n2 1 0\n3 1 1\n4 0 1\nEOF\n")
    assert parse_tsplib(text).coords.shape == (4, 2)


@pytest.mark.parametrize(
    "text, fragment",
    [
        (coord_file("EUC_2D", TRIANGLE).replace("TYPE : TSP", "TYPE : ATSP"), "TYPE must be TSP"),
        (coord_file("EUC_3D", TRIANGLE), "EDGE_WEIGHT_TYPE EUC_3D"),
        (coord_file("EUC_2D", TRIANGLE).replace("DIMENSION : 3", "DIMENSION : three"), "DIMENSION must be an integer"),
        (coord_file("EUC_2D", TRIANGLE).replace("DIMENSION : 3\n", ""), "DIMENSION is missing"),
        (coord_file("EUC_2D", TRIANGLE).replace("2 3 4", "2 3 x"), ":8: coordinate 'x' is not a number"),
        (coord_file("EUC_2D", TRIANGLE).replace("3 1 1", "2 1 1"), ":9: node 2 listed twice"),
        (coord_file("EUC_2D", TRIANGLE).replace("3 1 1", "7 1 1"), ":9: node id 7 outside 1..3"),
        (coord_file("EUC_2D", TRIANGLE).replace("3 1 1\n", ""), "lacks node 3"),
        (coord_file("EUC_2D", TRIANGLE).replace("2 3 4", "2 3"), ":8: NODE_COORD_SECTION line needs 'id x y'"),
        (coord_file("EUC_2D", TRIANGLE).replace("COMMENT", "FOO"), ":3: unknown or unsupported keyword 'FOO'"),
        (explicit_file("UPPER_ROW", "3 4 5\n6 7"), "has 5 numbers, UPPER_ROW with DIMENSION 4 needs 6"),
        (explicit_file("FULL_MATRIX", "0 3 4 5\n3 0 6 7\n4 6 0 1\n5 7 2 0"), "not symmetric"),
        (explicit_file("UPPER_COL", "3 4 5\n6 7\n1"), "EDGE_WEIGHT_FORMAT UPPER_COL"),
        (explicit_file("UPPER_ROW", "3 4 5\n6 inf\n1"), "is not finite"),
    ],
)
def test_malformed_files_name_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(TSPLIBError) as caught:
        parse_tsplib(text, "bad.tsp")
    assert fragment in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TSPLIBError, match="cannot read"):
        read_tsplib(tmp_path / "nope.tsp")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llmopt.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


FILES = {
    "euc": coord_file("EUC_2D", [(0, 0), (3, 4), (6, 0), (3, -4), (1, 1)]),
    "ceil": coord_file("CEIL_2D", [(0, 0), (3, 4), (6, 0), (3, -4), (1, 1)]),
    "att": coord_file("ATT", [(0, 0), (10, 0), (0, 30), (20, 20), (5, 5)]),
    "geo": coord_file("GEO", [(0.0, 0.0), (0.0, 1.0), (10.30, 0.0), (5.0, 5.0), (1.0, 2.0)]),
    **{fmt.lower(): explicit_file(fmt) for fmt in EXPLICIT},
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_cli_baselines_json_for_every_weight_type(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.tsp"
    path.write_text(FILES[name])
    optimum = read_tsplib(path).length(_brute_force(read_tsplib(path).dist))
    done = cli("baselines", "tsp", "--instance", str(path), "--optimum", str(optimum), "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["optimum"] == optimum
    rows = {r["method"]: r for r in payload["results"]}
    assert rows["held-karp"]["gap_pct"] == 0 and rows["lkh"]["gap_pct"] == 0
    assert all(r["gap_pct"] >= 0 for r in rows.values())


def test_cli_malformed_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsp"
    path.write_text(coord_file("EUC_2D", TRIANGLE).replace("2 3 4", "2 3 x"))
    done = cli("baselines", "tsp", "--instance", str(path))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "bad.tsp:8" in done.stderr


def _brute_force(dist: np.ndarray) -> list[int]:
    from itertools import permutations

    n = dist.shape[0]
    tours = ([0, *p] for p in permutations(range(1, n)))
    return min(tours, key=lambda t: dist[t, np.roll(t, -1)].sum())


def test_the_paper_grid_with_a_file_is_refused_as_one_task(tmp_path: Path) -> None:
    path = tmp_path / "five.tsp"
    path.write_text(FILES["euc"])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "bench",
            "tsp",
            "--instance",
            str(path),
            "--paper-grid",
            "--seeds",
            "1",
            "--methods",
            "nearest-neighbour",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "its tasks came out the same" in done.stderr and "Traceback" not in done.stderr
