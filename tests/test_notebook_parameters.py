"""Notebooks re-run with other parameters: their result tables move the expected way."""
import pandas as pd
import papermill
import pytest

from helpers.paths import REPO_ROOT

pytestmark = pytest.mark.slow   # runs whole chapters with papermill: left out of `make test-fast`

NOTEBOOK = REPO_ROOT / "notebooks" / "02_response.ipynb"


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


def test_stricter_cr_threshold_lowers_cr_and_raises_pr(default, tmp_path):
    strict = run_response(tmp_path, "strict", criteria={"cr_upcr_max": 0.3})
    cr = pd.IndexSlice[:, :, "CR"]
    assert (strict.loc[cr, "k"] < default.loc[cr, "k"]).all()
    assert (strict.loc[cr, "n"] == default.loc[cr, "n"]).all()
    pr = pd.IndexSlice[:, :, "PR"]
    assert (strict.loc[pr, "k"] >= default.loc[pr, "k"]).all()


def test_nonresponder_imputation_keeps_every_patient_and_lowers_rates(default, tmp_path):
    imputed = run_response(tmp_path, "nri", missing="nonresponder")
    overall = pd.IndexSlice[:, :, "overall"]
    # every patient of the arm is in every denominator
    assert set(imputed.loc[overall, "n"].groupby(level="group").unique().map(tuple)) == {(92,), (87,)}
    assert (imputed.loc[overall, "k"] == default.loc[overall, "k"]).all()      # same responders
    assert (imputed.loc[overall, "value"] <= default.loc[overall, "value"]).all()
    assert (imputed.loc[overall, "value"] < default.loc[overall, "value"]).any()
