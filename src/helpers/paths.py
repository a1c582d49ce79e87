"""Where things live, resolved from the repository root (not the working folder),
so notebooks run by nbval from notebooks/ find the same files as the CLI."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PUBLISHED_DIR = REPO_ROOT / "data" / "published"
RECONSTRUCTED_DIR = REPO_ROOT / "data" / "reconstructed"


def in_reconstruction(path) -> bool:
    """Is this data path inside the reconstructed cohort shipped with the book (synthetic patients)?"""
    return Path(path).resolve().is_relative_to(RECONSTRUCTED_DIR.resolve())
