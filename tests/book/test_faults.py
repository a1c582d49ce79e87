"""Builds that survive faults, on the real-cohort book of tests/real_cohort_book.py (the reconstructed cohorts
copied outside the repository, so a real cohort to the pipeline, in a folder named like an HTML attack), shared
with test_own_cohort.py:

- its parameters reach the pages only escaped, and no absolute path of this machine reaches the book;
- Ctrl-C (SIGINT to the build's process group, as a terminal sends it), while the pool workers start
  or while notebooks run, stops a build with one line and exit code 130, leaving no process behind;
- kill -9 of a build while notebooks run, then of the next while jupyter-book builds, leaves no process behind,
  the book in place whole throughout, and each next build runs at once (taking over the dead build's lock);
- a lock whose owner is gone is taken over, a live owner's is not;
- an unreadable data file, a read-only _build or book/ (and, simulated, a full disk) are one line on stderr
  and exit code 1.

The processes of a build are found by a token in their environment, which every child inherits
(pool workers, kernels, jupyter-book), so none escapes the count by being re-parented.
"""
from __future__ import annotations

import errno
import html
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import real_cohort_book
from markdown_it import MarkdownIt

from helpers import cli
from helpers.bookbuild import pages, pipeline, publish
from helpers.paths import REPO_ROOT, shown

pytestmark = pytest.mark.slow   # builds whole books: left out of `make test-fast`

NAME = f"faults_test_{os.getpid()}"
VARIANT = real_cohort_book.VARIANT
PAYLOAD = real_cohort_book.PAYLOAD
TOKEN = "LN_FAULTS_TEST_BUILD"
# As root, permissions do not stop reads or writes: the build then runs without the two capabilities
# that bypass them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH).
AS_USER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []


def command(params: Path, *extra: str) -> list[str]:
    return [*AS_USER, sys.executable, "-m", "helpers", "book", "--params", str(params), *extra]


def start(params: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """Start a build in the background, in a process group of its own as a shell would; returns it and the
    token its processes carry."""
    token = uuid.uuid4().hex
    process = subprocess.Popen(command(params, *extra), cwd=REPO_ROOT, env={**os.environ, TOKEN: token},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=_as_from_a_terminal)
    return process, token


def _as_from_a_terminal():
    """SIGINT handled as in a terminal: a shell starts a background job (`make test &`, CI runners) with SIGINT
    ignored, every child inherits that, and the build would then never see the Ctrl-C the test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def build(params: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(command(params, *extra), cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def processes(token: str) -> dict[int, str]:
    """{pid: command line} of every live process carrying `token` (zombies left out)."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f"{TOKEN}={token}".encode() not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found


def wait_for(token: str, what: str, timeout: float = 90) -> dict[int, str]:
    """Wait until a process of the build has `what` in its command line; returns the build's processes then.
    'spawn_main': a pool worker is starting; 'ipykernel': a notebook runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = processes(token)
        if any(what in line for line in found.values()):
            return found
        time.sleep(0.01)
    raise AssertionError(f"no {what} within {timeout} s: {processes(token)}")


def survivors(token: str, grace: float = 10) -> dict[int, str]:
    """The processes of a build still alive after `grace` seconds (their kernels poll their parent each second)."""
    deadline = time.monotonic() + grace
    while (found := processes(token)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


class BookWatcher(threading.Thread):
    """Reads the book in place every millisecond: its index.html (a redirect) must always be there, and
    the page it leads to complete."""

    def __init__(self, book: Path):
        super().__init__(daemon=True)
        self.book, self.reads, self.problems = book, 0, []
        self.index = (book / "index.html").read_text(encoding="utf-8")
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.001):
            try:
                if (self.book / "index.html").read_text(encoding="utf-8") != self.index:
                    self.problems.append("index.html changed or cut short")
                if not (self.book / "book" / "intro.html").read_text(encoding="utf-8").rstrip().endswith("</html>"):
                    self.problems.append("book/intro.html cut short")
            except OSError as err:
                self.problems.append(f"{type(err).__name__}: {err}")
            self.reads += 1

    def stop(self) -> list[str]:
        self.done.set()
        self.join()
        return self.problems


def one_line_error(result) -> str:
    """The stderr of a failed build: one line, no traceback."""
    stderr = result.stderr if isinstance(result.stderr, str) else result.stderr.read()
    assert "Traceback" not in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    return stderr.strip()


@pytest.fixture(scope="module")
def variant(real_cohort_book_built):
    """The shared real-cohort book: its params file, cohort folder and generated pages."""
    book = real_cohort_book_built
    return book.params, book.cohort, book.generated


# --- what the pages show ----------------------------------------------------------------------

@pytest.mark.parametrize("text", [PAYLOAD, "a`b", "`x`", " a ", "*not* [a](javascript:x) {doc}`y` <b>"])
def test_text_is_shown_literally_in_myst(text):
    """CommonMark (which MyST extends) renders a code span and escaped words as the text itself."""
    md = MarkdownIt("commonmark")
    assert md.renderInline(pages.md_code(text)) == f"<code>{html.escape(text, quote=False)}</code>"
    assert md.renderInline(pages.md_words(text)) == html.escape(text, quote=False)


def test_paths_are_shown_relative_to_the_repository_or_by_their_name():
    assert shown("data/reconstructed") == shown(REPO_ROOT / "data" / "reconstructed") == "data/reconstructed"
    assert shown(f"/somewhere/else/{PAYLOAD}") == PAYLOAD
    assert shown(REPO_ROOT / "data" / ".." / ".." / "outside") == "outside"


def test_the_parameters_reach_the_pages_only_escaped(variant):
    _, _, pages = variant
    assert f"` {PAYLOAD} `" in pages["parameters.md"]   # a code span: literal text in MyST
    shown = [p for p in VARIANT.rglob("*.html")   # as text, or a code span (Sphinx splits it at spaces)
             if "&lt;img src=x onerror=alert(1)&gt;" in p.read_text("utf-8")
             or '<span class="pre">&lt;img</span> <span class="pre">src=x</span> <span class="pre">onerror=alert(1)&gt;'
             in p.read_text("utf-8")]
    assert {"methods.html", "01_cohort_description.html"} <= {p.name for p in shown}
    raw = [p.relative_to(VARIANT).as_posix() for p in VARIANT.rglob("*.html") if "<img src=x" in p.read_text("utf-8")]
    assert not raw, raw


def test_no_absolute_path_of_this_machine_reaches_the_book(variant):
    params, cohort, pages = variant
    machine = [str(REPO_ROOT), str(cohort.parent), str(Path(os.path.realpath(cohort.parent))), "/tmp/"]
    leaks = [f"generated/{name}: {m}" for name, text in pages.items() for m in machine if m in text]
    for path in (p for p in VARIANT.rglob("*") if p.is_file() and p.suffix != ".png"):
        text = path.read_bytes().decode("utf-8", errors="ignore")
        leaks += [f"{path.relative_to(VARIANT)}: {m}" for m in machine if m in text]
    assert not leaks, leaks[:10]


# --- interrupted and killed builds ------------------------------------------------------------

@pytest.mark.parametrize("moment", ["spawn_main", "ipykernel"], ids=["workers starting", "notebooks running"])
def test_ctrl_c_stops_the_build_with_one_line_and_exit_code_130(variant, moment):
    """Ctrl-C in a terminal: SIGINT to the build's whole process group."""
    params, _, _ = variant
    process, token = start(params, "--force")
    wait_for(token, moment)
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert "interrupted" in one_line_error(process)
    assert not survivors(token)


def test_builds_killed_mid_way_leave_no_process_and_the_book_whole(variant):
    """kill -9 of a build while notebooks run, then of the next build while jupyter-book builds; one rebuild after
    both (each later build takes over the lock of the one killed before it)."""
    params, _, _ = variant
    before = os.readlink(VARIANT)
    watcher = BookWatcher(VARIANT)
    watcher.start()
    killed = []
    for moment in ("ipykernel", "jupyter-book build"):
        process, token = start(params, "--force")
        running = wait_for(token, moment)
        assert len(running) >= 2, (moment, running)   # the build and its pool workers and kernels, or jupyter-book
        process.kill()
        process.wait(timeout=10)
        killed.append((process, survivors(token)))
    again = build(params)
    problems = watcher.stop()
    (first, first_left), (second, second_left) = killed
    assert not first_left and not second_left, (first_left, second_left)
    assert f"taking over the lock of an earlier run that did not finish (PID {first.pid}, gone)" in second.stdout.read()
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"taking over the lock of an earlier run that did not finish (PID {second.pid}, gone)" in again.stdout
    assert os.readlink(VARIANT) != before, "the rebuild swapped in a new book"
    assert not problems and watcher.reads > 100, (watcher.reads, problems[:5])
    versions = sorted(p.name for p in VARIANT.parent.iterdir())
    assert versions == sorted(["html", os.readlink(VARIANT)]), versions   # older versions removed


# --- the lock ---------------------------------------------------------------------------------

def test_a_lock_whose_owner_is_gone_is_taken_over(tmp_path, capsys):
    lock = tmp_path / ".pipeline.lock"
    gone = subprocess.Popen(["true"])
    gone.wait()
    lock.write_text(f"{gone.pid}\n")
    with publish.pipeline_lock(lock):
        assert lock.read_text() == f"{os.getpid()}\n"
    assert f"(PID {gone.pid}, gone)" in capsys.readouterr().out
    assert lock.read_text() == ""   # a finished run leaves no owner


def holder(lock: Path, pid: str = "") -> subprocess.Popen:
    """A process holding an flock on `lock` (writing `pid` in it, if given) until it is killed."""
    code = ("import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
            "f.truncate(0); f.write(sys.argv[2]); f.flush(); print('held', flush=True); time.sleep(600)")
    process = subprocess.Popen([sys.executable, "-c", code, str(lock), pid], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "held\n"
    return process


def test_a_lock_held_by_what_a_dead_build_left_is_taken_over(tmp_path, capsys):
    """An orphan (say a worker of an older version of the pipeline) still holds the lock of a dead build."""
    lock = tmp_path / ".pipeline.lock"
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = holder(lock, str(gone.pid))
    try:
        with publish.pipeline_lock(lock):
            assert lock.read_text() == f"{os.getpid()}\n"
    finally:
        orphan.kill()
        orphan.wait()
    assert f"(PID {gone.pid}, gone)" in capsys.readouterr().out


def test_a_live_lock_refuses_the_run_naming_its_owner(tmp_path):
    lock = tmp_path / ".pipeline.lock"
    owner = holder(lock)
    try:
        lock.write_text(f"{owner.pid}\n")
        with pytest.raises(RuntimeError, match=f"another pipeline run is in progress \\(PID {owner.pid};"):
            with publish.pipeline_lock(lock):
                pass
    finally:
        owner.kill()
        owner.wait()


# --- files that cannot be read or written -------------------------------------------------------

def test_an_unreadable_data_file_is_one_line_and_exit_code_1(variant):
    params, cohort, _ = variant
    labs = cohort / "study_a" / "labs.csv"
    labs.chmod(0)
    try:
        result = build(params)
    finally:
        labs.chmod(0o644)
    assert result.returncode == 1
    line = one_line_error(result)
    assert line.startswith("error: ") and "labs.csv: cannot be read: Permission denied" in line, line


def test_a_full_disk_is_one_line_and_exit_code_1(monkeypatch, capsys):
    """Simulated: a write that fails for want of space names no file (the OSError has no filename)."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pipeline, "run", full)
    assert cli.main(["book", "--force", "--params", str(REPO_ROOT / "params" / "default.yaml")]) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: No space left on device") and stderr.count("\n") == 1, stderr


def test_a_read_only_build_folder_is_one_line_and_exit_code_1(variant, tmp_path):
    _, cohort, _ = variant
    params = tmp_path / f"{NAME}_ro.yaml"
    params.write_text(f"data_dir: {json.dumps(str(cohort))}\n", encoding="utf-8")
    folders = [REPO_ROOT / "_build", REPO_ROOT / "_build" / "staging"]
    modes = [f.stat().st_mode for f in folders]
    for folder in folders:
        folder.chmod(0o555)
    try:
        result = build(params)
    finally:
        for folder, mode in zip(folders, modes):
            folder.chmod(mode)
    assert result.returncode == 1
    line = one_line_error(result)
    assert f"_build/staging/{NAME}_ro: Permission denied" in line, line   # the lock's folder is made first
    assert not (REPO_ROOT / "_build" / "staging" / f"{NAME}_ro").exists()


def test_a_read_only_book_folder_does_not_stop_a_build(variant):
    """book/ read-only: a build only reads it (each book writes its generated pages and chapters into its own
    source folder under _build/), so it builds, and book/ is left as it was."""
    params, _, _ = variant
    book = REPO_ROOT / "book"
    before = sorted(p.relative_to(book) for p in book.rglob("*"))
    mode = book.stat().st_mode
    book.chmod(0o555)
    try:
        result = build(params, "--no-book")
    finally:
        book.chmod(mode)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert sorted(p.relative_to(book) for p in book.rglob("*")) == before
