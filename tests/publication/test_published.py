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
