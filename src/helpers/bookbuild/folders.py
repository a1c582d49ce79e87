"""Every folder the build writes, replaces or removes is first proven to sit inside the folder that owns
it (`inside`): as written, with '..' resolved, and with every symlink followed. A params file named
'..yaml' or a symlinked staging folder then stops the build with one line before anything is touched.
Errors other than a missing folder are raised, naming the path (a read-only book/ is 'book/generated:
Permission denied', not a later 'File exists')."""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


class OutsideBuild(RuntimeError):
    pass


def inside(path: Path, root: Path) -> Path:
    """`path`, once proven to lie strictly inside `root`; OutsideBuild otherwise."""
    for where in (os.path.abspath, os.path.realpath):   # as written ('..' resolved), then with symlinks followed
        seen, base = where(path), where(root)
        if not (Path(seen).is_relative_to(base) and seen != base):
            raise OutsideBuild(f"{path}: not inside {root} (it is {seen}): the build writes and removes only in "
                               "its own folders; nothing was changed there")
    return Path(path)


def remove(path: Path, root: Path, quiet: bool = False) -> None:
    """Remove the folder `path` (inside `root`) and everything in it; nothing to do if it is not there.
    `quiet`: leave what cannot be removed (leftovers of an earlier build) instead of raising."""
    inside(path, root)
    if quiet:
        shutil.rmtree(path, ignore_errors=True)
        return
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass


def make(path: Path, root: Path) -> Path:
    """Create the folder `path` (inside `root`) and its missing parents; fine if it exists."""
    inside(path, root).mkdir(parents=True, exist_ok=True)
    return Path(path)


def fresh(path: Path, root: Path) -> Path:
    """An empty folder `path` (inside `root`): removed if there, then created."""
    remove(path, root)
    return make(path, root)


@contextlib.contextmanager
def writing(folder: Path):
    """An OSError that names no file (a write on a full disk) is raised again naming `folder`, being written."""
    try:
        yield
    except OSError as err:
        if err.filename is not None:
            raise
        raise OSError(err.errno, err.strerror or str(err), str(folder)) from None
