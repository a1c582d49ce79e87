"""Building the book: config (the params file), execute (the notebooks, papermill), pages (the
generated pages), publish (jupyter-book, the atomic swap, the lock), pipeline (the whole run,
behind `python -m helpers book`)."""
