"""Published beside computed: the result rows (results), statements tested on rows (claims), roles
(provenance), marks (marks), the scorecard (scorecard)."""
