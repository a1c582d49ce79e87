"""Building the book: settings (the params model, every default), config (the params file), folders
(where a build may write), uptodate (is the book up to date? before any heavy import), execute (the
notebooks, papermill), worker (what a pool worker imports: papermill only), pages (the generated pages),
publish (jupyter-book, the atomic swap, the lock), pipeline (the whole run, behind `python -m helpers book`)."""
