"""Is a book up to date? The no-op check of a build, before anything heavy is imported.

Standard library only (and helpers.paths): `python -m helpers book` on an unchanged book answers from
here, without loading pydantic, pandas, scipy or papermill. A build stores a key of everything it read
(staging/build.key: the params files, notebooks, data, helper code, book/, _config.yml, _toc.yml);
when that key is unchanged and the outputs are in place, nothing is redone.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from helpers.paths import DEFAULT_PARAMS, PUBLISHED_DIR, REPO_ROOT

BUILD_DIR = REPO_ROOT / "_build"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
HELPERS_DIR = Path(__file__).resolve().parents[1]  # src/helpers: its *.py are an input of every notebook


def relative(path: Path) -> str:
    """A path relative to the repository root when inside it (stable text in the executed notebooks);
    symlinks are not followed (_build/html is one)."""
    path = Path(os.path.abspath(path))
    return path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path)


def find_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def hash_files(*paths: Path) -> str:
    """sha256 over the names and bytes of `paths` (files, or folders: every file under them)."""
    digest = hashlib.sha256()
    for path in map(Path, paths):
        digest.update(f"{relative(path)}\0".encode())
        for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            with file.open("rb") as f:
                digest.update(f"{relative(file)}\0".encode() + hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()


def read_key(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def book_of(params_path: Path) -> str:
    """The book's name (the params file's name without .yaml; params/default.yaml is 'default'), unchecked:
    helpers.bookbuild.config.book_name checks it before anything is written."""
    path = Path(params_path)
    return "default" if path.resolve() == DEFAULT_PARAMS.resolve() else path.name.rsplit(".", 1)[0]


def staging_path(name: str, build: Path = BUILD_DIR) -> Path:
    """_build/staging/<name>: the book's executed notebooks, results, source folder, logs and keys."""
    return build / "staging" / name


def target_path(name: str, build: Path = BUILD_DIR) -> Path:
    """_build/html (the default book) or _build/variants/<name>/html."""
    return build / "html" if name == "default" else build / "variants" / name / "html"


def build_key(params_path: Path, notebooks: list[Path], data_dirs, book: bool) -> str:
    """A hash of everything a whole build reads: the params files, the notebooks, the data, the helper
    code, and the hand-written pages (book/), _config.yml, _toc.yml."""
    return hash_files(params_path, DEFAULT_PARAMS, *notebooks, *(REPO_ROOT / d for d in data_dirs), PUBLISHED_DIR,
                      *sorted(HELPERS_DIR.rglob("*.py")), REPO_ROOT / "book", REPO_ROOT / "_config.yml",
                      REPO_ROOT / "_toc.yml") + f" book={book}"


def nothing_changed(params_path: Path, notebooks: list[Path], book: bool) -> bool:
    """True (and says so) when nothing the last successful build under this params file read has changed
    and its outputs are in place; False on any doubt (the full build then decides, and reports problems)."""
    try:
        name = book_of(params_path)
        staging, target = staging_path(name), target_path(name)
        stored = read_key(staging / "build.key")
        outputs = [staging / "scorecard.csv", *(staging / "notebooks" / nb.name for nb in notebooks)]
        if not stored or not all(p.exists() for p in outputs) or book and not (target / "index.html").exists():
            return False
        if stored["key"] != build_key(params_path, notebooks, stored["data_dirs"], book):
            return False
    except (OSError, KeyError, TypeError, ValueError):
        return False
    for nb in notebooks:
        print(f"  {nb.stem}: up to date", flush=True)
    print(f"book: up to date ({relative(target)}/index.html)" if book else "generated pages: up to date", flush=True)
    return True
