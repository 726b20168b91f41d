"""Run every teaching notebook top to bottom at its own size and save it with its outputs, stamped with
the hash of its code, so that a reader on GitHub sees a real run and a test can tell a stale one.

    .venv/bin/python notebooks/execute.py            # all nine, on the embedded model
    .venv/bin/python notebooks/execute.py 03 05      # the ones whose names start so

Each runs in a scratch folder (its run directories are not kept) and prints its time.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
STAMP = "llmopt"


def code_hash(book: nbformat.NotebookNode) -> str:
    """The SHA-256 of the notebook's code cells, in order: what its outputs were computed from."""
    sources = "\n\x00\n".join(cell.source for cell in book.cells if cell.cell_type == "code")
    return hashlib.sha256(sources.encode()).hexdigest()


def execute(path: Path) -> float:
    """Run one notebook in place; returns its seconds."""
    book = nbformat.read(path, as_version=4)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        NotebookClient(book, timeout=1800, kernel_name="python3", resources={"metadata": {"path": scratch}}).execute()
    seconds = time.perf_counter() - began
    book.metadata[STAMP] = {"code_sha256": code_hash(book), "seconds": round(seconds)}
    nbformat.write(book, path)
    return seconds


def main(prefixes: list[str]) -> None:
    """Execute the notebooks named by `prefixes` (all without any)."""
    for path in sorted(HERE.glob("*.ipynb")):
        if not prefixes or any(path.name.startswith(p) for p in prefixes):
            print(f"{path.name}: {execute(path):.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
