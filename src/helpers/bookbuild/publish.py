"""jupyter-book and the book in place: each book's own source folder (_build/staging/<name>/source: a copy
of the hand-written pages, _toc.yml and _config.yml with the variant banner, into which the generated
pages and executed chapters go, so no build writes into the repository's book/ and variant books share
no folder), the build into a staging folder (execution off, warnings are errors), the atomic swap
(_build/html is a symlink to a version folder, replaced by os.replace), and the lock that lets one build
of a book run at a time (an flock that records its owner's PID; a dead owner's lock is taken over with
a note)."""
from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import yaml

from helpers.bookbuild import config, folders, pages, uptodate, worker
from helpers.paths import REPO_ROOT

BUILD_DIR = uptodate.BUILD_DIR


def book_target(params: config.Params) -> Path:
    """_build/html (params/default.yaml) or _build/variants/<name>/html: a symlink to the book's version folder."""
    home = BUILD_DIR if params.is_default else BUILD_DIR / "variants"
    return folders.inside(uptodate.target_path(params.name, BUILD_DIR), home)


def staging_folder(params: config.Params) -> Path:
    """_build/staging/<name>: the book's executed notebooks, results, logs and keys."""
    return folders.inside(uptodate.staging_path(params.name, BUILD_DIR), BUILD_DIR / "staging")


def lock_file(params: config.Params) -> Path:
    """_build/staging/<name>/.lock: one build of a book at a time (books of other names run freely)."""
    return folders.inside(staging_folder(params) / ".lock", BUILD_DIR / "staging")


def source_folder(staging: Path) -> Path:
    """<staging>/source: the book's own source folder, what jupyter-book builds."""
    return folders.inside(staging / "source", staging)


COHORT_PAGES = REPO_ROOT / "book" / "cohort"   # the pages of a real cohort's book, in place of book/<same name>
RECONSTRUCTION_PAGES = ("book/reconstruction", "book/own_cohort", "book/study_file")   # reconstruction book only
COMPARISON_PAGE = "book/scorecard"   # a real cohort's book has it when compare_with names a study


def prepare_source(params: config.Params, default: config.Params, staging: Path) -> Path:
    """A fresh source folder for this book: the hand-written pages (book/, without what an older layout
    generated there), _toc.yml, and _config.yml (a variant's with its banner). A real cohort's book is a book
    about that cohort: the pages of book/cohort/ replace those of the same name (introduction, methods, the
    comparison with a publication), its table of contents leaves out the reconstruction's pages (and the
    comparison when compare_with names no study), and its _config.yml has the cohort's name and size for a
    title, no banner and no reconstruction footer. The generated pages (book/generated) and chapters
    (book/executed) are written into it by the pipeline."""
    source = folders.fresh(source_folder(staging), staging)
    shutil.copytree(REPO_ROOT / "book", source / "book", copy_function=shutil.copyfile,   # new files: writable
                    ignore=shutil.ignore_patterns("generated", "executed", COHORT_PAGES.name))
    for folder in [source / "book", *(p for p in (source / "book").rglob("*") if p.is_dir())]:
        folder.chmod(folder.stat().st_mode | stat.S_IWUSR)   # copytree gives a read-only book/'s mode to the copy
    book_config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    theme = book_config["sphinx"]["config"]["html_theme_options"]
    if config.all_reconstructed(params):
        shutil.copy2(REPO_ROOT / "_toc.yml", source / "_toc.yml")
        if not params.is_default:
            theme["announcement"] = pages.banner(params, default)
    else:
        for page in sorted(COHORT_PAGES.glob("*.md")):
            shutil.copy2(page, source / "book" / page.name)
        toc = real_cohort_toc(bool(config.comparisons(params)))
        (source / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
        book_config["title"], book_config["author"] = pages.book_title(params), ""
        theme["extra_footer"] = ""   # no word of a reconstruction
    (source / "_config.yml").write_text(yaml.safe_dump(book_config, sort_keys=False), encoding="utf-8")
    return source


def real_cohort_toc(compared: bool) -> dict:
    """_toc.yml of a real cohort's book: the repository's, without the reconstruction's pages and, unless the cohort
    is compared with a publication, without the comparison page."""
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text(encoding="utf-8"))
    left_out = set(RECONSTRUCTION_PAGES) | (set() if compared else {COMPARISON_PAGE})
    for part in toc["parts"]:
        part["chapters"] = [c for c in part["chapters"] if c.get("file") not in left_out]
        if [c.get("file") for c in part["chapters"]] == ["book/references"]:
            part["caption"] = "References"
    return toc


def book_key(params: config.Params, default: config.Params) -> str:
    """A hash of everything jupyter-book reads: the book's source folder (pages, executed chapters,
    generated pieces, references.bib, _config.yml with its banner, _toc.yml)."""
    files = uptodate.hash_files(source_folder(staging_folder(params)))
    return hashlib.sha256(files.encode()).hexdigest()


def build_book(params: config.Params, default: config.Params, staging: Path) -> Path:
    """jupyter-book build into a temporary folder; on success swap it into place. Returns the html folder."""
    target = book_target(params)
    tmp = folders.inside(BUILD_DIR / f".building-{params.name}", BUILD_DIR)
    folders.remove(tmp, BUILD_DIR, quiet=True)   # what an interrupted build left
    source = source_folder(staging)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(source),
               "--path-output", str(tmp), "-W", "-n", "--keep-going"]
    log = staging / "jupyter-book.log"
    print(f"building the book (log: {uptodate.relative(log)}) ...", flush=True)
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(command, cwd=source, stdout=out, stderr=subprocess.STDOUT, text=True,
                              preexec_fn=functools.partial(worker.die_with_build, os.getpid()))
    built = tmp / "_build" / "html"
    if done.returncode != 0 or not (built / "index.html").exists():
        folders.remove(tmp, BUILD_DIR, quiet=True)
        raise RuntimeError(f"jupyter-book build failed (exit code {done.returncode}): {failure(log)}; the book in "
                           f"place was not touched; full log: {uptodate.relative(log)}")
    swap_in(built, target)
    folders.remove(tmp, BUILD_DIR, quiet=True)
    print(f"built in {time.perf_counter() - start:.1f} s: {uptodate.relative(target)}/index.html", flush=True)
    return target


def swap_in(built: Path, target: Path) -> None:
    """Put the book in `built` in place as `target` in one step: `target` is a symlink to a version folder
    beside it (.html.<id>), replaced by a new symlink with os.replace (an atomic rename), so at every instant
    `target` is the complete previous book or the complete new one. Then the other versions are removed."""
    home = folders.inside(target, BUILD_DIR).parent   # _build (the default book) or _build/variants/<name>
    home.mkdir(parents=True, exist_ok=True)
    version = folders.inside(home / f".{target.name}.{uuid.uuid4().hex[:12]}", home)
    built.rename(version)
    link = folders.inside(home / f".{target.name}.link", home)
    link.unlink(missing_ok=True)
    link.symlink_to(version.name)
    if target.is_dir() and not target.is_symlink():  # a book built before versions: moved aside (once, not atomic)
        target.rename(folders.inside(home / f".{target.name}.{uuid.uuid4().hex[:12]}", home))
    os.replace(link, target)
    for old in home.glob(f".{target.name}.*"):
        if old != version:
            folders.remove(old, home, quiet=True)


ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")   # terminal colours and cursor moves


def failure(log: Path) -> str:
    """The cause of a failed jupyter-book build, in one line from its log: an OS error (a full disk) first,
    else the first warning or error, else the last line; with how many more problems the log holds."""
    lines = [" ".join(ANSI.sub("", x).split()) for x in log.read_text(encoding="utf-8", errors="replace").splitlines()]
    lines = [x for x in lines if x]
    problems = ([x for x in lines if "[Errno" in x] or [x for x in lines if "WARNING" in x or "ERROR" in x]
                or lines[-1:])
    if not problems:
        return "nothing in its log"
    first = problems[0] if len(problems[0]) <= 300 else problems[0][:297] + "..."
    return first + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")


@contextlib.contextmanager
def pipeline_lock(path: Path):
    """One pipeline at a time: hold an flock on `path`, which records the holder's PID while it runs.
    The kernel releases an flock when its holder dies, even by SIGKILL; a lock file left with a dead PID is
    taken over with a note; a live holder refuses the run, naming its PID. Taking the lock is serialised
    by a brief flock on the lock's folder, so no two runs can both take over the same stale lock."""
    with _folder_locked(path.parent):
        owner = _lock_owner(path)
        lock = path.open("a+", encoding="utf-8")
        if not _flocked(lock):
            lock.close()
            if owner is None or _alive(owner):
                raise RuntimeError(f"another pipeline run is in progress (PID {owner or 'unknown'}; lock: "
                                   f"{uptodate.relative(path)})")
            path.unlink()   # held by what the dead run left behind: a fresh lock file replaces it
            lock = path.open("a+", encoding="utf-8")
            if not _flocked(lock):
                lock.close()
                raise RuntimeError(f"cannot lock {uptodate.relative(path)}")
        if owner is not None:
            print(f"note: taking over the lock of an earlier run that did not finish (PID {owner}, gone)", flush=True)
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
    try:
        yield
    finally:
        lock.truncate(0)
        lock.close()


@contextlib.contextmanager
def _folder_locked(folder: Path):
    """An exclusive flock on a folder, held for the `with` block (blocking)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _flocked(file) -> bool:
    """Take an exclusive flock on an open file without waiting; False when another holds it."""
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_owner(path: Path) -> int | None:
    """The PID a lock file records, or None when it records none (a finished run empties it)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    """Is process `pid` running? A zombie (killed, not yet reaped by its parent) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
