"""A variant book differs from the default exactly where its parameters say: under
params/strict_cr.yaml (01_cohort_description and 02_response run by the pipeline's notebook stage) the CR and
PR rows move, CR counts only fall, every other result stays the same."""
import pandas as pd
import pytest

from helpers.bookbuild import config, execute
from helpers.compare import results
from helpers.paths import REPO_ROOT

pytestmark = pytest.mark.slow   # builds a whole book: left out of `make test-fast`

NOTEBOOKS = [REPO_ROOT / "notebooks" / n for n in ("01_cohort_description.ipynb", "02_response.ipynb")]


def test_strict_cr_variant_changes_only_cr_and_pr(tmp_path):
    tables = {}
    for name in ("default", "strict_cr"):
        params = config.load_params(REPO_ROOT / "params" / f"{name}.yaml")
        out = execute.run_notebooks(params, NOTEBOOKS, tmp_path / name, jobs=2)
        tables[name] = results.read_all(out).set_index(
            ["study", "measure", "outcome", "timepoint", "group", "statistic"]).sort_index()
    default, strict = tables["default"], tables["strict_cr"]
    assert default.index.equals(strict.index)
    changed = (default[["value", "detail"]].astype(str) != strict[["value", "detail"]].astype(str)).any(axis=1)
    moved = changed[changed].index.get_level_values("outcome").unique()
    assert set(moved) == {"CR", "PR"}, changed[changed]
    overall = default.xs("overall", level="outcome", drop_level=False)
    pd.testing.assert_frame_equal(overall, strict.loc[overall.index])    # CR -> PR keeps overall response
    default_cr, strict_cr = cr_counts(default), cr_counts(strict)
    assert len(default_cr) > 0, "02_response wrote no CR percent rows"
    assert default_cr.index.equals(strict_cr.index)
    assert (strict_cr <= default_cr).all() and strict_cr.sum() < default_cr.sum()


def cr_counts(table: pd.DataFrame) -> pd.Series:
    """CR count (k of the 'k/n' detail) per study, timepoint and group."""
    cr = table.xs(("response", "CR", "percent"), level=("measure", "outcome", "statistic"))
    return cr["detail"].str.split("/").str[0].astype(int)
