"""What the sources say and whether it can be true: the study files (published), GRIM/GRIMMER
(consistency), counts and denominators (counts), p-values (feasibility), the audit (audit)."""
