"""A strict TSPLIB reader for symmetric TSP files; every error names the line and the field."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmopt.problems.tsp.instance import Instance, tsplib_matrix

COORD_TYPES = ("EUC_2D", "CEIL_2D", "ATT", "GEO")
EXPLICIT_FORMATS = ("FULL_MATRIX", "UPPER_ROW", "LOWER_ROW", "UPPER_DIAG_ROW", "LOWER_DIAG_ROW")
HEADER_KEYS = (
    "NAME",
    "TYPE",
    "COMMENT",
    "DIMENSION",
    "EDGE_WEIGHT_TYPE",
    "EDGE_WEIGHT_FORMAT",
    "NODE_COORD_TYPE",
    "DISPLAY_DATA_TYPE",
)
SECTIONS = ("NODE_COORD_SECTION", "EDGE_WEIGHT_SECTION", "DISPLAY_DATA_SECTION")


class TSPLIBError(ValueError):
    """A malformed or unsupported TSPLIB file."""


def read_tsplib(path: str | Path) -> Instance:
    """Parse a TSPLIB file of TYPE TSP into an Instance."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as error:
        raise TSPLIBError(f"cannot read TSPLIB file {path}: {error}") from None
    return parse_tsplib(text, str(path))


def parse_tsplib(text: str, source: str = "<string>") -> Instance:
    """Parse TSPLIB text; `source` names the file in error messages."""
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1)]
    header: dict[str, str] = {}
    sections: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    for number, line in lines:
        if not line:
            continue
        keyword = line.split(":", 1)[0].strip().upper() if ":" in line else line.split()[0].upper()
        if keyword == "EOF":
            break
        if keyword in SECTIONS:
            if keyword in sections:
                raise TSPLIBError(f"{source}:{number}: {keyword} appears twice")
            current = sections[keyword] = []
        elif keyword in HEADER_KEYS and ":" in line:
            header[keyword] = line.split(":", 1)[1].strip()
            current = None
        elif current is not None:
            current.append((number, line))
        else:
            raise TSPLIBError(f"{source}:{number}: unknown or unsupported keyword {keyword!r}")
    return _build(header, sections, source)


def _build(header: dict[str, str], sections: dict[str, list[tuple[int, str]]], source: str) -> Instance:
    kind = header.get("TYPE", "").split()[0].upper() if header.get("TYPE") else ""
    if kind != "TSP":
        raise TSPLIBError(f"{source}: TYPE must be TSP, got {header.get('TYPE') or 'nothing'}")
    dimension = _dimension(header, source)
    weight_type = header.get("EDGE_WEIGHT_TYPE", "").upper()
    if weight_type in COORD_TYPES:
        coords = _node_coords(sections.get("NODE_COORD_SECTION"), dimension, "NODE_COORD_SECTION", source)
        dist = tsplib_matrix(coords, weight_type)
    elif weight_type == "EXPLICIT":
        dist = _explicit(header, sections.get("EDGE_WEIGHT_SECTION"), dimension, source)
        display = sections.get("DISPLAY_DATA_SECTION")
        coords = _node_coords(display, dimension, "DISPLAY_DATA_SECTION", source) if display else None
    else:
        supported = ", ".join((*COORD_TYPES, "EXPLICIT"))
        raise TSPLIBError(f"{source}: EDGE_WEIGHT_TYPE {weight_type or 'is missing'}; supported: {supported}")
    name = header.get("NAME") or Path(source).stem
    return Instance(name, dist, coords, weight_type)


def _dimension(header: dict[str, str], source: str) -> int:
    raw = header.get("DIMENSION")
    if raw is None:
        raise TSPLIBError(f"{source}: DIMENSION is missing")
    try:
        dimension = int(raw)
    except ValueError:
        raise TSPLIBError(f"{source}: DIMENSION must be an integer, got {raw!r}") from None
    if dimension < 3:
        raise TSPLIBError(f"{source}: DIMENSION must be at least 3, got {dimension}")
    return dimension


def _node_coords(rows: list[tuple[int, str]] | None, n: int, section: str, source: str) -> np.ndarray:
    if rows is None:
        raise TSPLIBError(f"{source}: {section} is missing")
    coords = np.full((n, 2), np.nan)
    for number, line in rows:
        fields = line.split()
        if len(fields) != 3:
            raise TSPLIBError(f"{source}:{number}: {section} line needs 'id x y', got {line!r}")
        node = _parse(fields[0], int, number, source, "node id")
        if not 1 <= node <= n:
            raise TSPLIBError(f"{source}:{number}: node id {node} outside 1..{n}")
        if not np.isnan(coords[node - 1, 0]):
            raise TSPLIBError(f"{source}:{number}: node {node} listed twice")
        coords[node - 1] = [_parse(f, float, number, source, "coordinate") for f in fields[1:]]
    missing = np.flatnonzero(np.isnan(coords[:, 0]))
    if missing.size:
        raise TSPLIBError(f"{source}: {section} lacks node {missing[0] + 1} (has {n - missing.size} of {n})")
    return coords


def _explicit(header: dict[str, str], rows: list[tuple[int, str]] | None, n: int, source: str) -> np.ndarray:
    fmt = header.get("EDGE_WEIGHT_FORMAT", "").upper()
    if fmt not in EXPLICIT_FORMATS:
        raise TSPLIBError(
            f"{source}: EDGE_WEIGHT_FORMAT {fmt or 'is missing'}; supported: {', '.join(EXPLICIT_FORMATS)}"
        )
    if rows is None:
        raise TSPLIBError(f"{source}: EDGE_WEIGHT_SECTION is missing")
    values = [_parse(token, float, number, source, "edge weight") for number, line in rows for token in line.split()]
    cells = _cells(fmt, n)
    if len(values) != len(cells):
        last = rows[-1][0] if rows else 0
        raise TSPLIBError(
            f"{source}:{last}: EDGE_WEIGHT_SECTION has {len(values)} numbers, "
            f"{fmt} with DIMENSION {n} needs {len(cells)}"
        )
    dist = np.zeros((n, n))
    for (i, j), value in zip(cells, values):
        dist[i, j] = value
        if fmt != "FULL_MATRIX":
            dist[j, i] = value
    if fmt == "FULL_MATRIX" and not np.array_equal(dist, dist.T):
        raise TSPLIBError(f"{source}: FULL_MATRIX is not symmetric, but TYPE TSP is symmetric")
    np.fill_diagonal(dist, 0.0)
    return dist


def _cells(fmt: str, n: int) -> list[tuple[int, int]]:
    rule = {
        "FULL_MATRIX": lambda i, j: True,
        "UPPER_ROW": lambda i, j: j > i,
        "LOWER_ROW": lambda i, j: j < i,
        "UPPER_DIAG_ROW": lambda i, j: j >= i,
        "LOWER_DIAG_ROW": lambda i, j: j <= i,
    }[fmt]
    return [(i, j) for i in range(n) for j in range(n) if rule(i, j)]


def _parse(token: str, kind: type, line: int, source: str, what: str):
    try:
        value = kind(token)
    except ValueError:
        raise TSPLIBError(f"{source}:{line}: {what} {token!r} is not a number") from None
    if kind is float and not np.isfinite(value):
        raise TSPLIBError(f"{source}:{line}: {what} {token!r} is not finite")
    return value
