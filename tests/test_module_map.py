"""The README's module map names every module of the package, and each wing's docstring every module of its wing
(a maintainer finds each chapter's logic from the map)."""
import importlib
import re
from pathlib import Path

from helpers.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "src" / "helpers"


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def test_the_readme_maps_every_module():
    table = (REPO_ROOT / "README.md").read_text(encoding="utf-8").split("The package follows the data")[1]
    table = table.split("## Where to change what")[0]
    named = set(re.findall(r"`([a-z_/]+)`", table))
    missing = []
    for path in modules():
        wing, name = path.parent.name, path.stem
        qualified = f"{wing}/{name}" if path.parent != PACKAGE else name
        if qualified not in named and name not in named:
            missing.append(qualified)
    assert not missing, f"README module map lacks {missing}"


def test_each_wing_s_docstring_names_its_modules():
    missing = []
    for wing in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
        doc = importlib.import_module(f"helpers.{wing.name}").__doc__ or ""
        missing += [f"{wing.name}/{p.stem}" for p in sorted(wing.glob("*.py"))
                    if p.name != "__init__.py" and not re.search(rf"\b{p.stem}\b", doc)]
    assert not missing, f"wing docstrings lack {missing}"
