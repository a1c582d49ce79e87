"""One module per chapter (description, response, safety, groups), each with the rows() its notebook
writes; the chapters' set-up (notebook); every chapter's rows for the check (check); each chapter's
closing 'What this shows', written from its rows (findings)."""
