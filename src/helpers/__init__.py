"""Helpers for the lupus nephritis reproduction book.

Modules, one concern each:
- schema, data:   the patient-level format and its validating loader
- published:      published numbers (data/published/*.yaml), validated on load
- response:       CR / PR / non-response classification from lab values
- stats:          statistical tests returning tidy frames that name the test
- reconstruct:    the reconstructed cohort built from the published aggregates
- check:          published number beside the number recomputed from the rows
"""
from helpers.paths import REPO_ROOT

__all__ = ["REPO_ROOT"]
