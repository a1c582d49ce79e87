"""The notebooks' parameters: each `parameters` cell is the settings model's (names and defaults), as is
params/default.yaml; and notebooks re-run with other parameters move their result tables the expected way."""
import pandas as pd
import papermill
import pytest
import yaml

from helpers.bookbuild import config, settings, uptodate
from helpers.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "notebooks" / "02_response.ipynb"
DEFAULT = REPO_ROOT / "params" / "default.yaml"


def test_each_parameters_cell_has_the_models_names_and_defaults():
    notebooks = uptodate.find_notebooks()
    assert {nb.stem for nb in notebooks} == set(settings.NOTEBOOKS)
    problems = [p for nb in notebooks for p in config.default_run_differences(nb)]
    assert not problems, "\n".join(problems)


def test_a_parameters_cell_that_differs_from_the_model_is_found(tmp_path):
    cell = papermill.inspect_notebook(str(NOTEBOOK))
    source = "\n".join(f"{name} = {p['default']}" for name, p in cell.items() if name != "window") \
        .replace("alpha = 0.05", "alpha = 0.01") + "\nextra = 1\n"
    nb = tmp_path / NOTEBOOK.name
    nb.write_text(NOTEBOOK.read_text(encoding="utf-8"), encoding="utf-8")
    book = papermill.iorw.load_notebook_node(str(nb))
    next(c for c in book.cells if "parameters" in c.metadata.get("tags", [])).source = source
    papermill.iorw.write_ipynb(book, str(nb))
    assert config.default_run_differences(nb) == [
        "02_response.ipynb: window is not in its parameters cell",
        "02_response.ipynb: alpha = 0.01, helpers.bookbuild.settings: 0.05",
        "02_response.ipynb: extra is not in helpers.bookbuild.settings.NOTEBOOK_PARAMETERS"]


def test_params_default_yaml_is_the_models_defaults():
    written = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    model = settings.Settings()
    assert set(written) <= set(settings.Settings.model_fields)
    for name, value in written.items():
        default = model.overrides() if name == "notebooks" else getattr(model, name)
        assert value == default and type(value) is type(default), name
    loaded = config.load_params(DEFAULT)
    assert loaded.settings == model and loaded.is_default and not loaded.notes


def run_response(tmp_path, name, **parameters):
    out_dir = tmp_path / name
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / f"{name}.ipynb"), kernel_name="python3",
                               parameters={"output_dir": str(out_dir), **parameters},
                               cwd=str(NOTEBOOK.parent), progress_bar=False)
    table = pd.read_csv(out_dir / "02_response.csv", dtype={"timepoint": str})
    table = table[table["statistic"] == "percent"]
    counts = table["detail"].str.split("/", expand=True).astype(int)
    return table.assign(k=counts[0], n=counts[1]).set_index(["timepoint", "group", "outcome"])


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    return run_response(tmp_path_factory.mktemp("default"), "default")


@pytest.mark.slow   # runs whole chapters with papermill: left out of `make test-fast`
def test_stricter_cr_threshold_lowers_cr_and_raises_pr(default, tmp_path):
    strict = run_response(tmp_path, "strict", criteria={"cr_upcr_max": 0.3})
    cr = pd.IndexSlice[:, :, "CR"]
    assert (strict.loc[cr, "k"] < default.loc[cr, "k"]).all()
    assert (strict.loc[cr, "n"] == default.loc[cr, "n"]).all()
    pr = pd.IndexSlice[:, :, "PR"]
    assert (strict.loc[pr, "k"] >= default.loc[pr, "k"]).all()


@pytest.mark.slow
def test_nonresponder_imputation_keeps_every_patient_and_lowers_rates(default, tmp_path):
    imputed = run_response(tmp_path, "nri", missing="nonresponder")
    overall = pd.IndexSlice[:, :, "overall"]
    # every patient of the arm is in every denominator
    assert set(imputed.loc[overall, "n"].groupby(level="group").unique().map(tuple)) == {(92,), (87,)}
    assert (imputed.loc[overall, "k"] == default.loc[overall, "k"]).all()      # same responders
    assert (imputed.loc[overall, "value"] <= default.loc[overall, "value"]).all()
    assert (imputed.loc[overall, "value"] < default.loc[overall, "value"]).any()
