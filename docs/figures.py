"""Make the documentation's figures from a real run and stamp each with the hash of the code that draws
it, so that a test can tell a stale one (as notebooks/execute.py does for the notebooks).

    .venv/bin/python docs/figures.py

One 10-city TSP run on the embedded model (a minute or two) gives both: docs/tsp.png is its `--plot`
figure, docs/report.png its `--html` report as headless Chromium shows it (apt-get install chromium).
The run goes past the response cache, so the report shows the model's real seconds.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STAMP = "llmopt-code-sha256"  # the PNG text key that holds the hash
# The code that draws the figures: the run's figure, the report's page and tables, and this script's run.
SOURCES = ("llmopt/report/plots.py", "llmopt/report/*.py", "docs/figures.py")
RUN = ["run", "tsp", "--cities", "10", "--steps", "5", "--seed", "0", "--no-cache", "--html"]
WINDOW = "1280,1750"  # the screenshot's size: the settings, the comparison, the figure and what OPRO spent
FIGURES = ("tsp.png", "report.png")


def sources() -> list[Path]:
    """The files whose code the stamp covers, in a fixed order."""
    return sorted({path for pattern in SOURCES for path in ROOT.glob(pattern)})


def code_hash() -> str:
    """The SHA-256 of the drawing code, file by file with its path; line endings do not count."""
    digest = hashlib.sha256()
    for path in sources():
        digest.update(f"{path.relative_to(ROOT).as_posix()}\0{path.read_text(encoding='utf-8')}\0".encode())
    return digest.hexdigest()


def stamp(path: Path, digest: str) -> None:
    """Write `digest` into the PNG's text metadata."""
    from PIL import Image, PngImagePlugin

    with Image.open(path) as image:
        image.load()
        info = PngImagePlugin.PngInfo()
        info.add_text(STAMP, digest)
        image.save(path, pnginfo=info)


def stamp_of(path: Path) -> str | None:
    """The hash a PNG was stamped with, if any."""
    from PIL import Image

    with Image.open(path) as image:
        return image.text.get(STAMP)


def screenshot(page: Path, png: Path, profile: Path) -> None:
    """Headless Chromium's view of `page`, offline, at the size of WINDOW."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        sys.exit("no chromium on PATH: apt-get install chromium")
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW}",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def main() -> None:
    """Run, draw, screenshot, stamp."""
    with tempfile.TemporaryDirectory() as scratch:
        run = Path(scratch) / "run"
        subprocess.run(
            [sys.executable, "-m", "llmopt.cli", *RUN, "--out", str(run), "--plot", str(HERE / "tsp.png")],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        screenshot(run / "report.html", HERE / "report.png", Path(scratch) / "profile")
    digest = code_hash()
    for name in FIGURES:
        stamp(HERE / name, digest)
        print(f"docs/{name}: {digest[:12]}")


if __name__ == "__main__":
    main()
