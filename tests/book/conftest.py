"""The real-cohort book shared by test_faults.py and test_own_cohort.py (tests/real_cohort_book.py)."""
import pytest
import real_cohort_book


@pytest.fixture(scope="session")
def real_cohort_book_built(tmp_path_factory):
    yield from real_cohort_book.built(tmp_path_factory.mktemp("real_cohort"))
