"""A small synthetic registry end to end: generation, schema, response classification, Table 1."""
import grid_oracle
import numpy as np
import pandas as pd
import pytest
import table1
from registry import TIMEPOINTS, synthetic_registry, to_schema_dtypes, write

from helpers.chapters import description as cohort
from helpers.cohort import data, response, schema
from helpers.cohort.data import Cohort

N = 2000


@pytest.fixture(scope="module")
def registry():
    return synthetic_registry(N, labs_per_patient=10, seed=7)


@pytest.fixture(scope="module")
def loaded(registry, tmp_path_factory):
    """The registry written as CSV files and read back by the validating loader."""
    folder = tmp_path_factory.mktemp("registry")
    write(registry, folder)
    return data.load(folder)  # every cell, the schema and the cross-file checks


def test_shapes_types_and_determinism(registry):
    patients, labs, events = registry.patients, registry.labs, registry.events
    assert len(patients) == N and patients["patient_id"].is_unique
    assert 8 <= len(labs) / N <= 11  # about 10 visits each, fewer after censoring and missed visits
    assert events.empty and list(events.columns) == [f.name for f in schema.EVENTS]
    assert set(patients["arm"]) == {"tacrolimus", "no_tacrolimus"}
    assert (labs.groupby("patient_id", observed=True)["day"].min() == 0).all()  # a baseline visit each
    assert not labs.duplicated(["patient_id", "day"]).any()
    assert labs["patient_id"].dtype == "category" and labs["albumin_g_dl"].dtype == np.float32
    again = synthetic_registry(N, labs_per_patient=10, seed=7)
    pd.testing.assert_frame_equal(again.patients, patients)
    pd.testing.assert_frame_equal(again.labs, labs)
    other = synthetic_registry(N, labs_per_patient=10, seed=8)
    assert not other.labs["upcr_g_g"].equals(labs["upcr_g_g"])


def test_passes_the_schema_and_the_loader(registry, loaded):
    plain = to_schema_dtypes(registry)
    for name, frame in (("patients.csv", plain.patients), ("labs.csv", plain.labs), ("events.csv", plain.events)):
        schema.dataframe_schema(name).validate(frame, lazy=True)
    assert len(loaded.patients) == N and len(loaded.labs) == len(registry.labs)
    pd.testing.assert_frame_equal(loaded.patients, plain.patients)
    pd.testing.assert_frame_equal(loaded.labs, plain.labs)


def test_classify_end_to_end(registry, loaded):
    out = response.classify(registry, TIMEPOINTS, 45)
    assert len(out) == N * len(TIMEPOINTS)
    assert list(out["timepoint"].cat.categories) == list(TIMEPOINTS)
    assert out["response"].notna().mean() > 0.8
    assert set(out["response"].dropna()) == {"CR", "PR", "NR"}
    # the memory-saving types (categorical ids, float32, int32 days) do not change a response:
    # the same cohort written to CSV and read back is classified identically
    again = response.classify(loaded, TIMEPOINTS, 45)
    for column in ["patient_id", "timepoint", "response", "upcr_g_g", "baseline_egfr"]:
        assert again[column].astype(object).equals(out[column].astype(object)), column
    assert np.array_equal(again["visit_day"].to_numpy(dtype=float, na_value=np.nan),
                          out["visit_day"].to_numpy(dtype=float), equal_nan=True)


def test_fast_grid_equals_the_merge_grid(registry):
    """classify's numpy path builds the same frame as the merges it replaced, rows shuffled or not."""
    shuffled = Cohort(registry.patients.sample(frac=1, random_state=1),
                      registry.labs.sample(frac=1, random_state=2), registry.events)
    for c in (registry, shuffled, to_schema_dtypes(shuffled)):
        patients = c.patients[["patient_id", "arm", "sex", "prior_response"]]
        fast = response._grid_by_positions(patients, c.labs, TIMEPOINTS, 45)
        assert fast is not None
        pd.testing.assert_frame_equal(fast, grid_oracle.grid_by_merges(patients, c.labs, TIMEPOINTS, 45))


def test_table_one_end_to_end(registry):
    frame = cohort.baseline_frame(registry, 45)
    arguments = cohort.table_one_arguments(frame, "arm")
    table = table1.table_one(frame, **arguments)
    levels = sum(frame[c].astype(object).fillna("None").nunique() for c in arguments["categorical"])
    continuous = len(arguments["columns"]) - len(arguments["categorical"])
    assert table.shape == (1 + continuous + levels, 5)
    header = "Grouped by arm"
    assert table.loc[("n", ""), (header, "Overall")] == N
    assert table.loc[("n", ""), (header, "tacrolimus")] + table.loc[("n", ""), (header, "no_tacrolimus")] == N
    assert ("ISN/RPS class, n (%)", "None") in table.index  # missing class shown as a level
