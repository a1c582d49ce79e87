"""Published beside computed: the result rows (results), statements tested on rows (claims), any
published number recomputed from the rows (numbers), roles (provenance), marks (marks), the
scorecard (scorecard)."""
