"""Published targets load, validate, and reject malformed entries."""
import dataclasses

import pytest
import yaml

from helpers import paths
from helpers.cohort.response import Criteria
from helpers.publication import published


def test_both_studies_load_with_quotes():
    for study in paths.studies():
        pub = published.load(study)
        assert pub.numbers and all(len(n.quote) >= 10 for n in pub.numbers)


def test_criteria_defaults_are_the_published_criteria():
    defaults = dataclasses.asdict(Criteria())
    for c in published.load("study_a").criteria:
        assert defaults[c.parameter] == c.value, c.parameter


def test_quotes_are_verbatim_from_the_sources():
    """Every quote of study A's paper and study B's abstract appears in the seed text."""
    from helpers.paths import REPO_ROOT
    seeds = REPO_ROOT.parent / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("shared/seeds not beside the repository")
    text = " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in seeds.glob("*.txt"))
    for study, sources in (("study_a", {"kjim2025"}), ("study_b", {"abstract81"})):
        for n in published.load(study).numbers:
            if n.source in sources:
                assert " ".join(n.quote.split()) in text, n.id


def _write(tmp_path, mutate):
    raw = yaml.safe_load((published.PUBLISHED_DIR / "study_b.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    (tmp_path / "study_b.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    published.load.cache_clear()


@pytest.mark.parametrize("mutate,message", [
    (lambda r: r["numbers"][0].update(quote=""), "quote"),
    (lambda r: r["numbers"][0].update(value=150, statistic="percent"), "percentage lies between 0 and 100"),
    (lambda r: r["numbers"][0].update(source="nowhere"), "unknown source"),
    (lambda r: r["numbers"][1].update(id=r["numbers"][0]["id"]), "duplicate number ids"),
    (lambda r: r["numbers"][0].update(value=3.14159, decimals=1), "more decimals"),
    (lambda r: r["numbers"][0].update(colour="red"), "Extra inputs are not permitted"),
    (lambda r: r["resolutions"][0].update(sets_aside=["no_such_number"]), "unknown numbers"),
])
def test_malformed_targets_are_rejected(tmp_path, mutate, message):
    _write(tmp_path, mutate)
    with pytest.raises(published.PublishedError, match=message):
        published.load("study_b", tmp_path)


def test_every_problem_of_a_study_file_at_once_each_with_its_id(tmp_path):
    def mutate(raw):
        raw["numbers"][0].update(measure="weight_of_evidence")                 # unknown measure
        raw["numbers"][4].update(unit="furlongs")                              # age in an unknown unit
        raw["numbers"][7].update(outcome="remission")                          # not a grade
        raw["numbers"][8].update(timepoint="7y")                               # unknown timepoint
        raw["criteria"][0].update(parameter="cr_upcr_limit")                   # unknown threshold
    _write(tmp_path, mutate)
    with pytest.raises(published.PublishedError) as err:
        published.load("study_b", tmp_path)
    text = str(err.value)
    assert text.startswith(str(tmp_path / "study_b.yaml") + ": ")
    for expected in ("numbers[0] (id n_total): unknown measure 'weight_of_evidence'",
                     "numbers[4] (id age_mean): unit 'furlongs' is not a unit of age",
                     "numbers[7] (id cr_24w): outcome 'remission' is not a response grade"):
        assert expected in text, text
    assert "Traceback" not in text and text.count("\n") >= 3


def test_reference_problems_are_listed_together(tmp_path):
    def mutate(raw):
        raw["numbers"][8].update(timepoint="7y")
        raw["numbers"][9].update(group="nobody")
        raw["criteria"][0].update(parameter="cr_upcr_limit")
    _write(tmp_path, mutate)
    with pytest.raises(published.PublishedError) as err:
        published.load("study_b", tmp_path)
    text = str(err.value)
    assert "number pr_24w: unknown timepoint '7y'" in text or "unknown timepoint '7y'" in text
    assert "unknown group 'nobody'" in text and "criteria cr_upcr_limit: unknown threshold" in text


def test_a_studys_own_definition_with_units_and_a_preset():
    from pathlib import Path

    from helpers.paths import REPO_ROOT
    fixtures = Path(REPO_ROOT / "tests" / "fixtures")
    rituxilup = published.criteria(published.load("rituxilup", fixtures))
    assert rituxilup.cr_upcr_max == pytest.approx(50 / 113.12) and rituxilup.pr_upcr_max == pytest.approx(300 / 113.12)
    assert rituxilup.cr_creatinine == "no_rise" and rituxilup.pr_egfr_min is None
    bliss = published.load("bliss_ln", fixtures)
    assert published.criteria(bliss) == Criteria.from_params({"preset": "bliss_ln"})
    assert published.grade_name(bliss, "overall") == "primary efficacy renal response"
    assert published.criteria(bliss, {"preset": "kdigo_2024"}) == Criteria.from_params({"preset": "kdigo_2024"})
    assert published.criteria(bliss, {"cr_upcr_max": 0.3}).cr_egfr_min == 90.0   # a book's override, over the study's
