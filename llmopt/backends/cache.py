"""A response cache for any backend: SQLite on disk, keyed by a hash of the full request."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmopt.backends.base import Backend, Completion, Generation
from llmopt.core.errors import UsageError, literal


def default_cache_path() -> Path:
    """`$XDG_CACHE_HOME/llmopt/responses.sqlite`, else `~/.cache/llmopt/responses.sqlite`."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "llmopt" / "responses.sqlite"


def request_key(
    identity: dict[str, object],
    prompt: str,
    n: int,
    temperature: float,
    max_tokens: int,
    seed: int | None,
    grammar: str | None,
) -> str:
    """SHA-256 of everything that shapes the answer; `identity` never holds secrets."""
    request = {
        "backend": identity,
        "prompt": prompt,
        "n": n,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "seed": seed,
        "grammar": grammar,
    }
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


class SQLiteStore:
    """One SQLite table of key -> JSON text, shared safely by threads and processes (WAL mode)."""

    def __init__(self, path: str | os.PathLike[str] | None, table: str, column: str = "value") -> None:
        self.path = Path(path) if path else default_cache_path()
        self.table, self.column = table, column
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        try:
            with self._connection() as connection:
                connection.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, {column} TEXT NOT NULL)")
                connection.execute(f"SELECT key, {column} FROM {table} LIMIT 1").fetchall()
        except sqlite3.DatabaseError as error:  # not a database, a foreign one, a folder, no permission
            raise UsageError.about(
                f"{literal(self.path)} is not a usable llmopt cache ({literal(error)}); delete it, "
                "choose another file with {cache}, or pass {no_cache}"
            ) from None

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=60.0)
            _switch_to_wal(connection)
            self._local.connection = connection
        return connection

    def get(self, key: str) -> str | None:
        """The stored text, or None."""
        row = self._connection().execute(f"SELECT {self.column} FROM {self.table} WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, value: str) -> None:
        """Store (or replace) the text under `key`."""
        with self._connection() as connection:
            connection.execute(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)", (key, value))


class CachedBackend:
    """Answers repeated requests from disk; a hit replays the original completions and their cost.

    Safe for several threads and processes. `hits` and `misses` count the requests this process replayed
    and sent; `calls` the model calls those sent made (a request's n answers are n calls to a server that
    ignores `n`).
    """

    def __init__(self, backend: Backend, path: str | os.PathLike[str] | None = None) -> None:
        self.backend = backend
        self.name = backend.name
        self._identity = backend.describe()
        self._store = SQLiteStore(path, "responses", "generation")
        self.path = self._store.path
        self._lock = threading.Lock()
        self.hits = self.misses = self.calls = 0  # requests replayed, requests sent, and the model calls they made

    def generate(
        self,
        prompt: str,
        *,
        n: int,
        temperature: float,
        max_tokens: int,
        seed: int | None = None,
        grammar: str | None = None,
    ) -> Generation:
        """The stored answer to this exact request, or the backend's (then stored)."""
        key = request_key(self._identity, prompt, n, temperature, max_tokens, seed, grammar)
        return self._cached(
            key,
            n,
            lambda: self.backend.generate(
                prompt, n=n, temperature=temperature, max_tokens=max_tokens, seed=seed, grammar=grammar
            ),
        )

    def complete(
        self,
        prompt: str,
        *,
        n: int,
        temperature: float,
        max_tokens: int,
        seed: int | None = None,
        grammar: str | None = None,
    ) -> Generation:
        """The stored raw continuation of this exact request, or the backend's (then stored)."""
        key = request_key({**self._identity, "endpoint": "complete"}, prompt, n, temperature, max_tokens, seed, grammar)
        return self._cached(
            key,
            n,
            lambda: self.backend.complete(
                prompt, n=n, temperature=temperature, max_tokens=max_tokens, seed=seed, grammar=grammar
            ),
        )

    def _cached(self, key: str, n: int, ask: Callable[[], Generation]) -> Generation:
        stored = self._store.get(key)
        if stored is not None:
            with self._lock:
                self.hits += 1
            return _decode(stored)
        generation = ask()
        with self._lock:
            self.misses += 1
            self.calls += generation.calls
        if len(generation.completions) == n:  # a short answer (a failed request) is not worth keeping
            self._store.put(key, _encode(generation))
        return generation

    def describe(self) -> dict[str, object]:
        """The wrapped backend's identity."""
        return self._identity

    def __getattr__(self, name: str) -> Any:
        if name == "backend":
            raise AttributeError(name)
        return getattr(self.backend, name)


def _switch_to_wal(connection: sqlite3.Connection, attempts: int = 100) -> None:
    """WAL mode, retried: processes opening a new file together may find it locked for a moment."""
    for attempt in range(attempts):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _encode(generation: Generation) -> str:
    return json.dumps(
        {
            "calls": generation.calls,
            "max_tokens": generation.max_tokens,
            "completions": [
                [
                    c.text,
                    c.prompt_tokens,
                    c.completion_tokens,
                    c.reasoning,
                    c.reasoning_tokens,
                    c.finish_reason,
                    c.cached_tokens,
                ]
                for c in generation.completions
            ],
        }
    )


def _decode(text: str) -> Generation:
    data = json.loads(text)  # entries stored before reasoning was kept apart hold three fields
    return Generation(
        [Completion(*c) for c in data["completions"]], calls=data["calls"], max_tokens=data.get("max_tokens")
    )
