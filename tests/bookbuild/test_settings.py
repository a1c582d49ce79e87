"""helpers.bookbuild.settings and config.load_params: the one settings model of a params file (types,
ranges, finite numbers, known names per notebook), YAML read with limits, safe book names, the
real-cohort min_cell rule, and the folders a build may touch. Every hostile input is one line
naming the file (and key), never a traceback."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from helpers.bookbuild import config, execute, folders, pipeline, publish, settings, uptodate
from helpers.cohort.response import Criteria
from helpers.paths import REPO_ROOT


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def error(path: Path) -> str:
    """The ParamsError of loading `path`, checked to be one line naming the file."""
    with pytest.raises(config.ParamsError) as err:
        config.load_params(path)
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(path) + ": "), text
    return text[len(str(path)) + 2:]


# --- the model ----------------------------------------------------------------------------------

def test_the_criteria_overrides_are_the_criteria_and_their_defaults_fit():
    names = {f.name for f in dataclasses.fields(Criteria)}
    assert set(settings.CriteriaOverrides.__annotations__) == names | {"preset"}
    TypeAdapter(settings.CriteriaOverrides).validate_python(dataclasses.asdict(Criteria()))


def test_every_notebook_model_takes_its_fields_from_the_one_definition():
    for stem, model in settings.NOTEBOOKS.items():
        for name, field in model.model_fields.items():
            assert repr(field) == repr(settings.PARAMETERS[name]), (stem, name)


@pytest.mark.parametrize("text, says", [
    ("criteria: {cr_upcr_max: .nan}\n", "criteria.cr_upcr_max: input should be a finite number, not nan"),
    ("criteria: {cr_upcr_max: NaN}\n", "criteria.cr_upcr_max: input should be a valid number, not 'NaN'"),
    ("criteria: {pr_egfr_min: -.inf}\n", "criteria.pr_egfr_min: input should be a finite number, not -inf"),
    ("criteria: {pr_upcr_reduction_min: 7}\n", "criteria.pr_upcr_reduction_min: input should be less than 1, not 7"),
    ("criteria: {cr_creatinine_rise_max: 0}\n", "criteria.cr_creatinine_rise_max: input should be greater than 0"),
    ("criteria: {cr_upcr_max: true}\n", "criteria.cr_upcr_max: input should be a valid number, not True"),
    ("alpha: abc\n", "alpha: input should be a valid number, not 'abc'"),
    ("alpha: 1.5\n", "alpha: input should be less than 1, not 1.5"),
    ("window: 45.5\n", "window: input should be a valid integer, not 45.5"),
    ("window: yes\n", "window: input should be a valid integer, not True"),
    ("min_cell: -1\n", "min_cell: input should be greater than or equal to 0, not -1"),
    ("timepoints: {6m: -182}\n", "timepoints.6m: input should be greater than or equal to 0, not -182"),
    ("data_dir: 2024-01-01\n", "data_dir: input should be a valid string, not datetime.date(2024, 1, 1)"),
    ('data_dir: "a\\0b"\n', "data_dir: holds control or format characters ('\\x00'): remove them"),
    ('data_dir: "cohort\\u202egpj.exe"\n', "data_dir: holds control or format characters ('\\u202e')"),
    ("compare_with: {mine: study_z}\n", "compare_with.mine: no study file data/published/study_z.yaml (known: study_a"),
    ("compare_with: {mine: {study: study_z}}\n", "compare_with.mine.study: no study file data/published/study_z.yaml"),
    ("compare_with: {mine: {study: study_a, arms: {tac: tacro}}}\n",
     "compare_with.mine: arms.tac: 'tacro' is not an arm of study_a (tacrolimus, no_tacrolimus)"),
    ("compare_with: {mine: {study: study_a, arms: {a: tacrolimus, b: tacrolimus}}}\n",
     "compare_with.mine: arms: tacrolimus is named for two arms of the cohort; name each once"),
    ("compare_with: {mine: {study: study_a, arm: {a: tacrolimus}}}\n", "compare_with.mine.arm: unknown name"),
    ("exclude: {labs: [1]}\n", "exclude.labs.0: input should be greater than or equal to 2, not 1"),
    ("exclude: {labs: 28}\n", "exclude.labs: input should be a valid list, not 28"),
    ("notebooks: {05_audit: {studies: [nope]}}\n", "notebooks.05_audit.studies.0: no study file data/published/nope"),
    ("notebooks: {03_safety_flares: {ae_test: auto}}\n", "notebooks.03_safety_flares.ae_test: input should be"),
    ("notebooks: {02_response: {windw: 30}}\n", "notebooks.02_response.windw: unknown name (known here: data_dir, "
                                               "study, timepoints, window, criteria, missing, test, alpha, min_cell, "
                                               "exclude)"),
    ("notebooks: {05_audit: {window: 30}}\n", "notebooks.05_audit.window: unknown name (known here: studies)"),
    ("notebooks: {02_response: {output_dir: /}}\n", "notebooks.02_response.output_dir: set by the pipeline"),
    ("notebooks: {02_response: [window]}\n", "notebooks.02_response: input should be a valid dictionary"),
])
def test_bad_values_are_one_line_naming_the_key(tmp_path, text, says):
    assert says in error(write(tmp_path / "bad.yaml", text))


def test_every_problem_of_a_file_is_on_its_one_line(tmp_path):
    says = error(write(tmp_path / "bad.yaml", "alpha: abc\nwindow: -1\nwindw: 3\n"))
    assert says.startswith("window: ") and "; alpha: " in says and "; windw: unknown name" in says


def test_what_a_params_file_sets_is_what_reaches_the_notebooks(tmp_path):
    params = config.load_params(write(tmp_path / "p.yaml", "criteria:\nwindow: 30\nnotebooks:\n"
                                                            "  02_response: {criteria: {cr_upcr_max: 0.3}}\n"))
    assert params.values == {"criteria": {}, "window": 30}
    assert params.notebooks == {"02_response": {"criteria": {"cr_upcr_max": 0.3}}}
    assert params.settings.alpha == 0.05 and params.settings.window == 30


# --- YAML with limits ---------------------------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
window: *i
"""


@pytest.mark.parametrize("text, says", [
    (BILLION_LAUGHS, "line 1, column 4: anchors and aliases (& and *) are not allowed in a params file"),
    ("base: &x {window: 30}\n<<: *x\n", "anchors and aliases (& and *) are not allowed"),
    ("window: 30\nalpha: 0.01\nwindow: 45\n", "line 3, column 1: 'window' is given twice: keep one"),
    ("timepoints: " + "[" * 50 + "]" * 50 + "\n", "nested more than 8 levels deep"),
    ("data_dir: !!python/object/apply:os.system [echo hi]\n", "could not determine a constructor for the tag"),
    ("window: 30\n---\nwindow: 45\n", "expected a single document in the stream"),
    ("window: [30\n", "line 2, column 1: while parsing a flow sequence"),
    (b"data_dir: \xff\xfe\n", "not UTF-8 text (byte 10): save it as UTF-8"),
    ("# " + "x" * 70_000 + "\n", "larger than 64 KiB; a params file is a few lines of YAML"),
])
def test_hostile_yaml_is_refused_in_one_line(tmp_path, text, says):
    start = time.perf_counter()
    assert says in error(write(tmp_path / "bad.yaml", text))
    assert time.perf_counter() - start < 1


def test_an_endless_file_is_not_read_to_its_end(tmp_path):
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    assert "larger than 64 KiB" in error(tmp_path / "zero.yaml")


def test_an_empty_file_is_the_default_run(tmp_path):
    params = config.load_params(write(tmp_path / "empty.yaml", ""))
    assert params.values == {} and params.settings == settings.Settings()


# --- names: the book's folders are named after its params file ----------------------------------

@pytest.mark.parametrize("name", ["...yaml", "..yaml", ".yaml", "a.b.yaml", "a b.yaml", "a\\b.yaml", "-rf.yaml",
                                  "_x.yaml", "a\nb.yaml", "a\x1b[31mb.yaml", "a\u202eb.yaml", "a\u200bb.yaml",
                                  "명.yaml", "x.txt", "x", "x" * 65 + ".yaml"])
def test_a_params_file_with_an_unsafe_name_is_refused(tmp_path, name):
    path = write(tmp_path / name, "window: 30\n")
    with pytest.raises(config.ParamsError, match="a params file is named <name>.yaml") as err:
        config.load_params(path)
    assert all(c.isprintable() for c in str(err.value)), repr(str(err.value))


@pytest.mark.parametrize("path", ["sub/../..yaml", "sub/..", "sub/.", "a\x00b.yaml", "ok\x00/x.yaml"])
def test_separators_dot_components_and_nul_are_refused_before_the_file_is_opened(tmp_path, path):
    with pytest.raises(config.ParamsError, match="a params file is named <name>.yaml"):
        config.load_params(str(tmp_path) + "/" + path)


def test_only_params_default_yaml_is_the_default_book(tmp_path):
    assert config.load_params(REPO_ROOT / "params" / "default.yaml").name == "default"
    assert "'default' is the name of params/default.yaml's book" in error(write(tmp_path / "default.yaml", ""))
    assert config.book_name(tmp_path / "my-cohort_2.yml") == "my-cohort_2"


def test_a_force_build_of_a_dot_dot_named_file_removes_nothing(tmp_path, monkeypatch, capsys):
    """The bug this guards against: '...yaml' made the staging folder _build/staging/.., and --force removed
    all of _build, the held lock included."""
    build = tmp_path / "_build"
    keep = [write(build / "html" / "index.html", "the default book"), write(build / ".pipeline.lock", ""),
            write(build / "staging" / "default" / "build.key", "{}")]
    monkeypatch.setattr(publish, "BUILD_DIR", build)
    for name in ("...yaml", "..yaml"):
        path = write(tmp_path / "params" / name, "window: 30\n")
        assert pipeline.command(path, force=True) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "a params file is named <name>.yaml" in err, err
    assert all(p.exists() for p in keep)


# --- folders: proven inside their own before any write or removal --------------------------------

def test_inside_refuses_dot_dot_the_root_itself_and_symlinks_out(tmp_path):
    root = tmp_path / "_build" / "staging"
    (tmp_path / "elsewhere").mkdir()
    root.mkdir(parents=True)
    (root / "link").symlink_to(tmp_path / "elsewhere")
    assert folders.inside(root / "mine", root) == root / "mine"
    for path in (root / "..", root / "mine" / ".." / "..", root, root / ".", root / "link", root / "link" / "x",
                 tmp_path / "elsewhere"):
        with pytest.raises(folders.OutsideBuild, match="not inside"):
            folders.inside(path, root)


def test_a_staging_folder_that_is_a_symlink_out_of_build_is_refused_and_left_alone(tmp_path, monkeypatch, capsys):
    build, outside = tmp_path / "_build", tmp_path / "precious"
    keep = write(outside / "notebooks" / "thesis.ipynb", "{}")
    (build / "staging").mkdir(parents=True)
    (build / "staging" / "evil").symlink_to(outside)
    monkeypatch.setattr(publish, "BUILD_DIR", build)
    notebooks = tmp_path / "notebooks"
    write(notebooks / "01_x.ipynb", "{}")
    assert pipeline.command(write(tmp_path / "evil.yaml", "window: 30\n"), notebooks, force=True) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "evil: not inside" in err and "nothing was changed there" in err, err
    assert keep.exists()


def test_a_force_run_removes_only_the_folders_it_writes_in_its_staging(tmp_path):
    staging = tmp_path / "staging" / "x"
    mine = [write(staging / sub / "old", "") for sub in execute.STAGING_FOLDERS]
    other = write(staging / "jupyter-book.log", "kept")
    execute.run_notebooks(config.load_params(REPO_ROOT / "params" / "default.yaml"), [], staging, force=True)
    assert not any(p.exists() for p in mine) and other.exists()


# --- min_cell: on by default for real patients, never lowered by a chapter ---------------------

@pytest.fixture
def real(tmp_path) -> str:
    """A data folder that is not the reconstruction (nothing is read from it here)."""
    return str(tmp_path / "cohort")


def test_a_real_cohort_gets_min_cell_5_unless_set(tmp_path, real):
    params = config.load_params(write(tmp_path / "p.yaml", f"data_dir: {real}\n"))
    assert params.values["min_cell"] == settings.REAL_COHORT_MIN_CELL == 5 and not params.notes
    assert params.flat()["min_cell"] == 5   # the parameters table and the banner show it
    reconstruction = config.load_params(write(tmp_path / "r.yaml", "window: 30\n"))
    assert "min_cell" not in reconstruction.values and not reconstruction.notes


def test_a_chapter_reading_a_real_cohort_makes_the_book_a_real_one(tmp_path, real):
    params = config.load_params(write(tmp_path / "p.yaml", f"notebooks: {{02_response: {{data_dir: {real}}}}}\n"))
    assert params.values["min_cell"] == 5


@pytest.mark.parametrize("value, says", [(0, "disclosure control is off"), (3, "groups of 3 to 4 patients are shown")])
def test_an_explicit_lower_min_cell_on_a_real_cohort_is_allowed_and_said(tmp_path, real, value, says, capsys,
                                                                         monkeypatch):
    path = write(tmp_path / "p.yaml", f"data_dir: {real}\nmin_cell: {value}\n")
    params = config.load_params(path)
    assert params.values["min_cell"] == value
    assert params.notes == (f"min_cell is {value} (set in {path}), below 5, the default for a real cohort: {says}",)

    def stop(params):
        raise RuntimeError("stopped here")

    monkeypatch.setattr(pipeline, "validate_data", stop)   # the note is printed before anything runs
    notebooks = tmp_path / "notebooks"
    write(notebooks / "01_x.ipynb", "{}")
    assert pipeline.command(path, notebooks) == 1
    assert f"note: min_cell is {value} (set in {path})" in capsys.readouterr().out


@pytest.mark.parametrize("text, floor", [
    ("min_cell: 5\nnotebooks: {02_response: {min_cell: 0}}\n", 5),
    ("data_dir: REAL\nnotebooks: {02_response: {min_cell: 0}}\n", 5),
    ("data_dir: REAL\nnotebooks: {03_safety_flares: {min_cell: 4}}\n", 5),
    ("min_cell: 10\nnotebooks: {01_cohort_description: {min_cell: 9}}\n", 10),
])
def test_a_chapter_may_never_lower_min_cell(tmp_path, real, text, floor):
    says = error(write(tmp_path / "p.yaml", text.replace("REAL", real)))
    assert f"is below the book's min_cell ({floor}): a chapter may raise min_cell, never lower it" in says


def test_a_chapter_may_raise_min_cell(tmp_path, real):
    params = config.load_params(write(tmp_path / "p.yaml", f"data_dir: {real}\n"
                                                            "notebooks: {02_response: {min_cell: 10}}\n"))
    assert params.values["min_cell"] == 5 and params.notebooks == {"02_response": {"min_cell": 10}}


def test_the_min_cell_in_force_reaches_every_notebook_that_has_it(tmp_path, real):
    params = config.load_params(write(tmp_path / "p.yaml", f"data_dir: {real}\n"))
    having = [nb for nb in uptodate.find_notebooks() if "min_cell" in settings.NOTEBOOKS[nb.stem].model_fields]
    assert len(having) == 4
    for nb in having:
        assert config.notebook_parameters(nb, params, "out")["min_cell"] == 5, nb.name


def test_the_chapters_functions_default_to_the_settings_model():
    """One source for each default: every default of a chapter's rows() that is also a parameter of the params
    file equals the settings model's default (the check command runs the chapters at these defaults)."""
    import inspect

    from helpers.bookbuild.settings import PARAMETERS
    from helpers.chapters import description, groups, response, safety
    checked = 0
    for module in (description, groups, response, safety):
        for name, parameter in inspect.signature(module.rows).parameters.items():
            if name in PARAMETERS and parameter.default is not inspect.Parameter.empty and \
                    PARAMETERS[name].default is not None and name != "criteria":
                assert parameter.default == PARAMETERS[name].default, (module.__name__, name)
                checked += 1
    assert checked >= 8


def test_a_book_may_grade_the_response_by_a_named_preset(tmp_path):
    from helpers.chapters import notebook
    params = config.load_params(write(tmp_path / "kdigo.yaml", "criteria: {preset: kdigo_2024}\n"))
    assert params.values["criteria"] == {"preset": "kdigo_2024"}
    assert notebook.criteria_for("study_a", params.values["criteria"]) == Criteria.from_params({"preset": "kdigo_2024"})
    assert notebook.criteria_for("study_a", {}) == Criteria()          # the study's own: the default book's
    assert error(write(tmp_path / "bad.yaml", "criteria: {preset: kdigo}\n")).startswith(
        "criteria.preset: input should be 'ajou_2022', 'kdigo_2024'")
