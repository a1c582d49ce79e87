"""What the rows of a reconstructed cohort were built from.

The record (RECORD, beside the study folders: `<out>/.built-from.json`; hidden, so neither the cohort loader
nor a listing of cohort folders takes it for a study) holds, per study, the SHA-256 of the study file the rows
were built from and the targets the build set aside, each with its reason. `reconstruct --check` refuses rows
whose record does not name the study file as it is now (`stale`): a reconstruct that fails leaves the old rows
and their record, so the check says so instead of comparing the new study file with rows of the old one.
Standard library only.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from helpers.paths import PUBLISHED_DIR, RECONSTRUCTED_DIR

RECORD = ".built-from.json"   # {study: {study_file, sha256, not_reached: {id: reason}}}


def study_file_hash(study: str, folder: Path = PUBLISHED_DIR) -> str:
    """SHA-256 of the study file's text (line ends as LF, so a checkout with CRLF gives the same)."""
    text = (Path(folder) / f"{study}.yaml").read_bytes().replace(b"\r\n", b"\n")
    return hashlib.sha256(text).hexdigest()


def built_from(out_dir: Path, study: str) -> dict | None:
    """What the rows of out_dir/study were built from (the record's entry), or None when nothing is recorded."""
    try:
        record = json.loads((Path(out_dir) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entry = record.get(study) if isinstance(record, dict) else None
    return entry if isinstance(entry, dict) and isinstance(entry.get("sha256"), str) else None


def stale(study: str, out_dir: Path = RECONSTRUCTED_DIR, folder: Path = PUBLISHED_DIR) -> str | None:
    """Why the rows in out_dir/study are not those of the study file as it is now (in words, with what to do),
    or None when the record says they are."""
    entry = built_from(out_dir, study)
    redo = (f"run `python -m helpers reconstruct --study {study}` and fix any problem it reports, then check "
            f"again")
    if entry is None:
        return (f"the rows in {Path(out_dir) / study} have no record of the study file they were built from "
                f"({Path(out_dir) / RECORD}); {redo}")
    if entry["sha256"] != study_file_hash(study, folder):
        return (f"the rows in {Path(out_dir) / study} were not built from {study}.yaml as it is now (it has changed "
                f"since they were built, or the reconstruct after the change failed and left the old rows); {redo}")
    return None


def note(out_dir: Path, study: str, entry: dict) -> None:
    """Set `study`'s entry of the record in out_dir, replaced in one step (sorted keys: the same bytes for the
    same builds)."""
    path = Path(out_dir) / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        record = record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        record = {}
    record[study] = entry
    tmp = path.with_name(f"{RECORD}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
