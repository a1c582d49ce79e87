"""A target no data can give is reported, with its proof, and the reconstruction goes on without it;
a target the draws cannot reach is set aside with a message, never an exception."""
import pytest
import yaml

from helpers import paths
from helpers.compare import provenance
from helpers.paths import REPO_ROOT
from helpers.publication import consistency, counts, published
from helpers.reconstruct import builder


@pytest.mark.parametrize("mean, sd, decimals, n, possible", [
    (3.0, 1.58, 2, 5, True),      # 1, 2, 3, 4, 5
    (5.0, 0.0, 1, 3, True),       # 5, 5, 5
    (5.0, 1.0, 2, 2, False),      # two whole numbers with mean 5: SD 0 or at least 1.41
    (31.4, 0.1, 1, 29, False),    # mean 31.4 needs both 31s and 32s: SD about 0.5
    (31.4, 0.5, 1, 29, True),
    (4.0, 1.0, 1, 1, False),      # no SD of one value
])
def test_grimmer_knows_which_mean_and_sd_whole_numbers_can_have(mean, sd, decimals, n, possible):
    assert consistency.grimmer(mean, sd, decimals, n) is possible


def study_c(**changes):
    """The test fixture study, with some published values changed."""
    data = yaml.safe_load((REPO_ROOT / "tests" / "fixtures" / "study_c.yaml").read_text(encoding="utf-8"))
    for number in data["numbers"]:
        number.update(changes.get(number["id"], {}))
    return published.Study.model_validate(data)


def test_an_age_sd_no_whole_numbers_can_have_is_infeasible_with_its_proof_and_the_build_goes_on():
    pub = study_c(age_sd={"value": 0.1})
    proofs = counts.infeasible_moments(pub)
    assert set(proofs) == {"age_mean", "age_sd"}
    assert "31.4 ± 0.1 of 29 whole numbers" in proofs["age_sd"] and "GRIMMER" in proofs["age_sd"]
    roles = provenance.roles(pub)
    assert roles["age_sd"].kind == "infeasible" and roles["age_sd"].why == proofs["age_sd"]
    patients = builder.build(pub)["patients.csv"]
    assert len(patients) == 29 and abs(patients["age"].mean() - 31.4) < 0.5   # drawn from the published figures


def test_an_sd_too_large_for_values_of_at_least_zero_is_infeasible():
    pub = study_c(upcr_baseline_sd={"value": 20.0})
    proofs = counts.infeasible_moments(pub)
    assert "at most mean x sqrt(n)" in proofs.get("upcr_baseline_sd", "")
    assert len(builder.build(pub)["patients.csv"]) == 29


def test_the_studies_shipped_have_no_infeasible_mean_or_sd():
    assert all(counts.infeasible_moments(published.load(s)) == {} for s in paths.studies())


@pytest.mark.slow   # builds study A ten times (5 s): left out of `make test-fast`
def test_a_log_rank_p_the_draws_cannot_reach_is_set_aside_with_a_message_not_an_exception():
    pub = published.load("study_a")
    numbers = [n.model_copy(update={"value": 0.0001, "decimals": 4}) if n.statistic == "logrank_p" else n
               for n in pub.numbers]
    said = []
    tables = builder.build(pub.model_copy(update={"numbers": numbers}), log=said.append)
    assert len(tables["patients.csv"]) == 179
    assert len(said) == 1 and "poor_outcome_logrank_p not reached in 10 draws" in said[0]
    assert "reconstruct --check" in said[0]
