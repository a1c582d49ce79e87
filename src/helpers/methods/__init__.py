"""Statistics and disclosure control, knowing nothing of any study: proportions, stats, disclosure."""
