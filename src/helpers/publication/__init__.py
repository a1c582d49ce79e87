"""What the sources say and whether it can be true: the study files (published), what a number can be
about and its units (measures), which numbers the reconstruction aims at (targets), the study file's
reference page (reference), GRIM/GRIMMER (consistency), counts and denominators (counts), p-values
(feasibility), the audit (audit)."""
