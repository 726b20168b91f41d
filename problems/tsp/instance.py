"""TSP instances: a distance matrix, coordinates when there are any, and random instances."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Instance:
    """One symmetric TSP: n cities, an n×n distance matrix, optional 2-D coordinates for display."""

    name: str
    dist: np.ndarray
    coords: np.ndarray | None = None
    edge_weight_type: str = "EUC"

    @property
    def n(self) -> int:
        """Number of cities."""
        return int(self.dist.shape[0])

    def length(self, tour: tuple[int, ...] | list[int] | np.ndarray) -> float:
        """Length of the closed tour."""
        return tour_length(self.dist, tour)


def tour_length(dist: np.ndarray, tour: tuple[int, ...] | list[int] | np.ndarray) -> float:
    """Length of the closed tour on a distance matrix."""
    order = np.asarray(tour, dtype=np.intp)
    return float(dist[order, np.roll(order, -1)].sum())


def euclidean_matrix(coords: np.ndarray) -> np.ndarray:
    """Exact (unrounded) Euclidean distances, as in the paper's random instances."""
    diff = coords[:, None, :] - coords[None, :, :]
    return np.sqrt((diff**2).sum(-1))


def random_instance(n: int, seed: int = 0, low: int = -100, high: int = 100) -> Instance:
    """n cities with integer coordinates drawn uniformly from [low, high] (the paper's setting)."""
    if n < 3:
        raise ValueError("--cities must be at least 3")
    rng = np.random.default_rng(seed)
    coords = rng.integers(low, high + 1, size=(n, 2)).astype(float)
    return Instance(f"random-{n}-seed{seed}", euclidean_matrix(coords), coords, "EUC")


def format_coord(value: float) -> str:
    """Coordinates as the model reads them: integers without a trailing '.0'."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def nint(x: np.ndarray) -> np.ndarray:
    """TSPLIB's nearest-integer rounding, (int)(x + 0.5)."""
    return np.floor(x + 0.5)


def geo_radians(coords: np.ndarray) -> np.ndarray:
    """TSPLIB GEO coordinates (DDD.MM) to radians, with the spec's PI = 3.141592."""
    degrees = np.trunc(coords)  # the reference code truncates; it matches the published optima
    minutes = coords - degrees
    return 3.141592 * (degrees + 5.0 * minutes / 3.0) / 180.0


def tsplib_matrix(coords: np.ndarray, weight_type: str) -> np.ndarray:
    """Distances rounded exactly as the TSPLIB specification defines for each weight type."""
    if weight_type == "GEO":
        lat, lon = geo_radians(coords).T
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        inner = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        dist = np.floor(6378.388 * np.arccos(inner) + 1.0)
        np.fill_diagonal(dist, 0.0)
        return dist
    diff = coords[:, None, :] - coords[None, :, :]
    squared = (diff**2).sum(-1)
    if weight_type == "EUC_2D":
        return nint(np.sqrt(squared))
    if weight_type == "CEIL_2D":
        return np.ceil(np.sqrt(squared))
    if weight_type == "ATT":
        r = np.sqrt(squared / 10.0)
        t = nint(r)
        return np.where(t < r, t + 1.0, t)
    raise ValueError(f"unsupported EDGE_WEIGHT_TYPE {weight_type}")


def is_integral(dist: np.ndarray) -> bool:
    """True when every distance is a whole number (TSPLIB instances)."""
    return bool(np.all(np.mod(dist, 1.0) == 0.0)) and math.isfinite(float(dist.max(initial=0.0)))
