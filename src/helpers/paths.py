"""Where things live, resolved from the repository root (not the working folder),
so notebooks run by nbval from notebooks/ find the same files as the CLI."""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PUBLISHED_DIR = REPO_ROOT / "data" / "published"
RECONSTRUCTED_DIR = REPO_ROOT / "data" / "reconstructed"
DEFAULT_PARAMS = REPO_ROOT / "params" / "default.yaml"   # the default book's params file


def in_reconstruction(path) -> bool:
    """Is this data path inside the reconstructed cohort shipped with the book (synthetic patients)?"""
    return Path(path).resolve().is_relative_to(RECONSTRUCTED_DIR.resolve())


def shown(path) -> str:
    """A path as the book may publish it: relative to the repository root when inside it, else only its
    last name, so that no absolute path of this machine reaches a page. Relative paths are taken from
    the repository root, as notebook parameters are."""
    path = Path(os.path.normpath(REPO_ROOT / path))   # an absolute `path` replaces REPO_ROOT
    return path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else path.name


def studies(folder: Path = PUBLISHED_DIR) -> list[str]:
    """The studies the book knows: one per data/published/<study>.yaml."""
    return sorted(p.stem for p in Path(folder).glob("*.yaml"))
