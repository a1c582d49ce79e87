"""helpers.bookbuild: params files, the parameters each notebook receives, the swap of a built book. The real
notebook runs under params/strict_cr.yaml are in test_variant.py."""
from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from helpers.bookbuild import config, execute, folders, pages, pipeline, publish
from helpers.cohort.response import WINDOW
from helpers.paths import REPO_ROOT

PARAMS = REPO_ROOT / "params"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def notebook(path: Path, parameters: str) -> Path:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    nbformat.write(nb, path)
    return path


# --- params files -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["default", "strict_cr", "nonresponder"])
def test_shipped_params_files_load(name):
    params = config.load_params(PARAMS / f"{name}.yaml")
    assert params.name == name and params.is_default == (name == "default")


def test_variants_differ_from_the_default_only_where_they_say():
    default = config.load_params(PARAMS / "default.yaml").flat()
    strict = config.load_params(PARAMS / "strict_cr.yaml").flat()
    nonresponder = config.load_params(PARAMS / "nonresponder.yaml").flat()
    assert {k: v for k, v in strict.items() if default.get(k) != v} == {"criteria.cr_upcr_max": 0.3}
    assert {k: v for k, v in nonresponder.items() if default.get(k) != v} == {"missing": "nonresponder"}


@pytest.mark.parametrize("text, key", [
    ("window: 45\nwindw: 30\n", "windw: unknown name (known here: data_dir, window,"),
    ("criteria:\n  cr_upcr_maximum: 0.3\n", "criteria.cr_upcr_maximum: unknown name (known here: cr_upcr_max,"),
    ("notebooks:\n  02_response:\n    output_dir: x\n", "notebooks.02_response.output_dir: set by the pipeline"),
    ("notebooks:\n  02_response:\n    windw: 30\n", "notebooks.02_response.windw: unknown name (known here: data_dir,"),
    ("notebooks:\n  02_dmeo:\n    window: 30\n", "notebooks.02_dmeo: unknown name (known here: 01_cohort_description,"),
])
def test_unknown_parameter_names_are_an_error_naming_file_and_key(tmp_path, text, key):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(config.ParamsError) as err:
        config.load_params(path)
    assert str(path) in str(err.value) and key in str(err.value)


@pytest.mark.parametrize("text, words", [
    ("missing: impute\n", "missing: input should be 'complete_case' or 'nonresponder', not 'impute'"),
    ("test: t\n", "test: input should be 'pearson', 'yates', "),
    ("window: -3\n", "window: input should be greater than or equal to 0, not -3"),
    ("criteria:\n  cr_upcr_max: low\n", "criteria.cr_upcr_max: input should be a valid number, not 'low'"),
    ("- a list\n", "expected a mapping"),
])
def test_bad_values_are_an_error_naming_the_file(tmp_path, text, words):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(config.ParamsError, match=str(path)) as err:
        config.load_params(path)
    assert words in str(err.value)


def test_banner_lists_the_non_default_parameters():
    default = config.load_params(PARAMS / "default.yaml")
    text = pages.banner(config.load_params(PARAMS / "strict_cr.yaml"), default)
    assert "strict_cr" in text and "criteria.cr_upcr_max = 0.3 (default 0.5)" in text
    assert "missing" not in text


# --- parameters passed to a notebook ------------------------------------------------

def test_only_parameters_the_notebook_defines_are_passed(tmp_path):
    nb = notebook(tmp_path / "02_response.ipynb",
                  'data_dir = "data/reconstructed"\nstudy = "study_a"\noutput_dir = "out"\nwindow = 45\n'
                  'cr_upcr_max = 0.5\ncriteria = {}')
    params = config.load_params(write(tmp_path / "p.yaml", "window: 30\ntest: fisher\ncriteria: {cr_upcr_max: 0.3}\n"
                                                             "notebooks:\n  02_response:\n    study: study_b\n"))
    passed = config.notebook_parameters(nb, params, "results")
    assert passed == {"window": 30, "criteria": {"cr_upcr_max": 0.3}, "cr_upcr_max": 0.3, "study": "study_b",
                      "output_dir": "results"}


def test_a_per_notebook_override_the_notebook_does_not_define_is_an_error(tmp_path):
    """The settings model knows 02_response's window; a notebook of that name without one refuses it."""
    nb = notebook(tmp_path / "02_response.ipynb", 'study = "study_a"\noutput_dir = "out"')
    path = write(tmp_path / "p.yaml", "notebooks:\n  02_response:\n    window: 30\n")
    with pytest.raises(config.ParamsError) as err:
        config.notebook_parameters(nb, config.load_params(path), "results")
    assert str(path) in str(err.value) and "notebooks.02_response.window: not a parameter of" in str(err.value)


def test_the_default_run_has_one_source_for_its_window_and_data_folder():
    default = config.load_params(PARAMS / "default.yaml").values
    assert default["window"] == WINDOW and default["data_dir"] == config.DEFAULT_DATA_DIR


# --- the swap: a failed build never replaces a good book ------------------------------

class FakeBuild:
    """Stands in for `jupyter-book build`: writes an index.html (`text`) into --path-output, or fails."""

    def __init__(self, ok: bool, text: str = "new book"):
        self.ok, self.text = ok, text

    def __call__(self, command, **kwargs):
        out = Path(command[command.index("--path-output") + 1]) / "_build" / "html"
        out.mkdir(parents=True)
        if self.ok:
            (out / "index.html").write_text(self.text)
        return type("Done", (), {"returncode": 0 if self.ok else 1})()


@pytest.mark.parametrize("ok", [True, False])
def test_the_book_in_place_is_replaced_only_by_a_successful_build(tmp_path, monkeypatch, ok):
    """The book in place here is a plain folder (as built before versions); a new one becomes a version."""
    monkeypatch.setattr(publish, "BUILD_DIR", tmp_path / "_build")
    monkeypatch.setattr(publish.subprocess, "run", FakeBuild(ok))
    old = tmp_path / "_build" / "html"
    old.mkdir(parents=True)
    (old / "index.html").write_text("old book")
    staging = tmp_path / "staging"
    staging.mkdir()
    default = config.load_params(PARAMS / "default.yaml")
    if ok:
        assert publish.build_book(default, default, staging) == old
        assert (old / "index.html").read_text() == "new book"
        assert old.is_symlink() and os.readlink(old).startswith(".html.")
        left = ["html", os.readlink(old)]   # the link and the one version it points to
    else:
        with pytest.raises(RuntimeError, match="the book in place was not touched"):
            publish.build_book(default, default, staging)
        assert (old / "index.html").read_text() == "old book"
        left = ["html"]
    assert sorted(p.name for p in (tmp_path / "_build").iterdir()) == sorted(left)  # no leftovers


def test_a_build_stopped_before_its_one_step_swap_leaves_the_book_in_place(tmp_path, monkeypatch):
    """The new book replaces the old in one os.replace of a symlink: stopped just before it (a kill,
    Ctrl-C), the old book is in place, whole; the next build removes what the stopped one left."""
    monkeypatch.setattr(publish, "BUILD_DIR", tmp_path / "_build")
    staging = tmp_path / "staging"
    staging.mkdir()
    default = config.load_params(PARAMS / "default.yaml")
    monkeypatch.setattr(publish.subprocess, "run", FakeBuild(True, "first book"))
    book = publish.build_book(default, default, staging)
    monkeypatch.setattr(publish.subprocess, "run", FakeBuild(True, "second book"))

    def killed(*args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(publish.os, "replace", killed)
        with pytest.raises(KeyboardInterrupt):
            publish.build_book(default, default, staging)
    assert (book / "index.html").read_text() == "first book"
    monkeypatch.setattr(publish.subprocess, "run", FakeBuild(True, "third book"))
    publish.build_book(default, default, staging)
    assert (book / "index.html").read_text() == "third book"
    assert sorted(p.name for p in book.parent.iterdir()) == sorted(["html", os.readlink(book)])


def test_a_variant_builds_beside_the_default_with_its_banner(tmp_path, monkeypatch):
    monkeypatch.setattr(publish, "BUILD_DIR", tmp_path / "_build")
    seen = {}

    def build(command, **kwargs):
        seen["config"] = yaml.safe_load((Path(command[2]) / "_config.yml").read_text())
        return FakeBuild(True)(command)

    monkeypatch.setattr(publish.subprocess, "run", build)
    staging = tmp_path / "staging"
    staging.mkdir()
    default, variant = config.load_params(PARAMS / "default.yaml"), config.load_params(PARAMS / "strict_cr.yaml")
    source = publish.prepare_source(variant, default, staging)
    assert (source / "book" / "intro.md").exists() and not (source / "book" / "generated").exists()
    target = publish.build_book(variant, default, staging)
    assert target == tmp_path / "_build" / "variants" / "strict_cr" / "html"
    theme = seen["config"]["sphinx"]["config"]["html_theme_options"]
    assert "criteria.cr_upcr_max = 0.3 (default 0.5)" in theme["announcement"]
    assert seen["config"]["only_build_toc_files"] is True  # the rest is the root _config.yml


def test_overrides_for_a_notebook_not_in_the_folder_are_an_error(tmp_path):
    notebook(tmp_path / "02_demo.ipynb", 'output_dir = "out"')
    path = write(tmp_path / "p.yaml", "notebooks:\n  02_response:\n    window: 30\n")
    with pytest.raises(config.ParamsError) as err:
        pipeline.run(path, notebooks_dir=tmp_path, book=False)
    assert str(path) in str(err.value) and "notebooks.02_response: no notebook 02_response.ipynb in" in str(err.value)


# --- failures are one line, naming the path and the cause -----------------------------------------

class FullDiskBuild:
    """Stands in for a `jupyter-book build` that runs out of disk: coloured warnings, then Sphinx's traceback,
    all into its log (stdout), and a non-zero exit code."""

    def __call__(self, command, stdout=None, **kwargs):
        lines = ["\x1b[01mRunning Sphinx v7.4.7\x1b[39;49;00m",
                 *(f"\x1b[91m/book/page{i}.md: WARNING: image file not readable\x1b[39;49;00m" for i in range(12)),
                 "Traceback (most recent call last):", '  File "sphinx/util/osutil.py", line 200, in close',
                 "    self.stream.write(self.getvalue())",
                 "OSError: [Errno 28] No space left on device: '/x/_build/.building-strict_cr/_build/html/a.html'"]
        stdout.write("\n".join(lines) + "\n")
        return type("Done", (), {"returncode": 2})()


def test_a_full_disk_during_jupyter_book_is_one_line_with_the_cause(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(publish, "BUILD_DIR", tmp_path / "_build")
    monkeypatch.setattr(publish.subprocess, "run", FullDiskBuild())
    staging = tmp_path / "_build" / "staging" / "default"
    staging.mkdir(parents=True)
    default = config.load_params(PARAMS / "default.yaml")
    monkeypatch.setattr(pipeline, "run", lambda *args, **kwargs: publish.build_book(default, default, staging))
    assert pipeline.command(PARAMS / "default.yaml") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "Traceback" not in err, err
    assert err.startswith("error: jupyter-book build failed (exit code 2): OSError: [Errno 28] No space left on device")
    assert "the book in place was not touched; full log: " in err and err.rstrip().endswith("jupyter-book.log")
    assert sorted(p.name for p in (tmp_path / "_build").iterdir()) == ["staging"]   # no half-built book left


def test_a_failed_jupyter_book_names_its_first_warning_and_counts_the_rest(tmp_path):
    log = tmp_path / "jupyter-book.log"
    log.write_text("start\n\x1b[91mbook/a.md:3: WARNING: undefined label\x1b[0m\nbook/b.md: ERROR: x\nend\n")
    assert publish.failure(log) == "book/a.md:3: WARNING: undefined label (and 1 more)"
    log.write_text("")
    assert publish.failure(log) == "nothing in its log"


def test_error_text_reaches_the_terminal_without_control_characters(monkeypatch, capsys):
    def failing(*args, **kwargs):
        raise RuntimeError("\x1b[31mred\x1b[0m and a \u202eswap and a NUL \x00")

    monkeypatch.setattr(pipeline, "run", failing)
    assert pipeline.command(PARAMS / "default.yaml") == 1
    assert capsys.readouterr().err == "error: red and a \\u202eswap and a NUL \\x00\n"


def test_a_write_that_names_no_file_is_reported_with_the_folder_being_written(tmp_path):
    with pytest.raises(OSError) as err:
        with folders.writing(tmp_path / "book" / "generated"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert pipeline.os_error(err.value).startswith(f"{tmp_path}/book/generated: No space left on device (check")


def test_a_read_only_folder_names_the_folder_and_the_cause(tmp_path):
    """A read-only folder the build must replace (here a book's generated pages) cannot be replaced. Said as
    such, not as a later 'File exists'. As root, permissions stop nothing: the check runs without the two
    capabilities that bypass them."""
    book = tmp_path / "book"
    (book / "generated").mkdir(parents=True)
    (book / "generated" / "old.md").write_text("old")
    book.chmod(0o555)
    code = ("import sys; from pathlib import Path; from helpers.bookbuild import folders, pipeline\n"
            "try:\n    folders.fresh(Path(sys.argv[1]) / 'generated', Path(sys.argv[1]))\n"
            "except OSError as err:\n    sys.exit(pipeline.os_error(err))\n")
    as_user = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    try:
        done = subprocess.run([*as_user, sys.executable, "-c", code, str(book)], capture_output=True, text=True)
    finally:
        book.chmod(0o755)
    assert done.returncode == 1
    assert done.stderr == f"{book}/generated: Permission denied (check that the data, params and book/ can be read, " \
                          "and that _build/ can be written)\n"


def test_the_first_page_gives_no_size_below_min_cell(tmp_path, valid_cohort):
    """'hosp_d (3 patients)' on the first page, beside Table 1's hidden groups, was a count below min_cell: the
    first page now says 'fewer than 5 patients', as Table 1 does (its overall n suppressed)."""
    params = tmp_path / "hosp.yaml"
    params.write_text(f"data_dir: {valid_cohort}\n", encoding="utf-8")     # a real cohort: min_cell 5 by default
    text = pages._cohort_md(config.load_params(params), {})
    assert "(fewer than 5 patients)" in text and "3 patients" not in text
    params.write_text(f"data_dir: {valid_cohort}\nmin_cell: 0\n", encoding="utf-8")
    assert "(3 patients)" in pages._cohort_md(config.load_params(params), {})


def test_the_criteria_table_says_each_value_in_words_not_as_python():
    """'not applied' for a limit set to None, yes / no for a switch: never None, True or False in a page."""
    table = pages._criteria_md(config.load_params(PARAMS / "default.yaml"))
    assert not re.search(r"\b(None|True|False)\b", table)
    assert "| not applied |" in table and "| yes |" in table and "| no |" in table


def test_captions_say_what_a_figure_draws_under_disclosure_control(tmp_path):
    """The reconstruction's Kaplan-Meier figure marks censored patients and the trajectories draw each patient;
    under min_cell neither is drawn (disclosure rules 6 and 7), and the captions say so."""
    for name in ("03_safety_flares", "04_refractory_multitarget"):
        for controlled in (False, True):
            executed = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", 4)
            # the min_cell the chapter ran with, as papermill records it in the executed notebook
            executed.metadata["papermill"] = {"parameters": {"min_cell": 5 if controlled else 0}}
            source, target = tmp_path / f"{name}-{controlled}-run.ipynb", tmp_path / f"{name}-{controlled}.ipynb"
            nbformat.write(executed, source)
            execute.publish_notebook(source, target, reconstructed=not controlled)
            captions = [c["metadata"]["mystnb"]["figure"]["caption"] for c in nbformat.read(target, 4).cells
                        if "figure" in c.get("metadata", {}).get("mystnb", {})]
            drawn = any("+ marks a censored patient" in c or "one thin line per patient" in c for c in captions)
            assert drawn != controlled, (name, controlled, captions)
