"""The reconstructed cohort: synthetic patients built from the published aggregates.

Deterministic and portable: every stored value is decided in integer or decimal arithmetic
(helpers.reconstruct.draw, .moments), so the same study file gives the same bytes on every
machine. The response is never written: labs are drawn so that helpers.cohort.response, applied to
the rows, gives the planned CR / PR / NR counts (helpers.reconstruct.plan).

- builder:  the one reconstruction, driven by a study file (arms, subgroups, timepoints, targets,
            assumptions)
- course:   the patient model: traits, smooth courses, bands whose edges are the criteria, flares,
            declines to ESRD
- realism:  measures of how patient-like the rows are (for tests and notes)
- plan:     counts per timepoint and arm from the published percentages and p-values
- fit:      groups of values fitted to published means and SDs
- draw:     portable seeded draws on the grid of the stored precision
- moments:  values that meet published means and SDs exactly (integer search)
- labs:     laboratory values for a planned response, with interior slack
- events:   the exact log-rank statistic behind a published p; flares and adverse events
- write:    the CSV files, replaced only once complete
- record:   what the rows were built from (data/reconstructed/.built-from.json), read by the check
- record:   what the rows were built from (the study file's hash, the targets set aside), for `--check`
"""
from helpers.reconstruct.write import build, write

__all__ = ["build", "write"]
