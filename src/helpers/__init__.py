"""Helpers for the lupus nephritis reproduction book, in wings that follow the data:

- cohort/:       the patient-level format, its loader, the response classification, CKD-EPI
- methods/:      tests, effect sizes and disclosure control, knowing nothing of any study
- publication/:  the study files, and whether each published number can be true
- compare/:      results format, statements tested on rows, roles, marks, the scorecard
- reconstruct/:  the synthetic cohort built from the study files (a patient model)
- present/:      table and figure formatting
- chapters/:     one module per chapter, each with the rows() its notebook writes
- bookbuild/:    params files, papermill, generated pages, jupyter-book
- paths, labels, text: the repository's folders; the book's words for codes; the one escaping function
- cli:           python -m helpers

The README's module map has one line per module.
"""
from helpers.paths import REPO_ROOT

__all__ = ["REPO_ROOT"]
