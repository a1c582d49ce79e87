"""What runs in the build's worker processes, kept to papermill (with its jupyter_client) and the standard
library: a spawned worker imports only this module (about 0.3 s, against about 1.1 s for the whole of
bookbuild.execute), and the three workers start at once on two cores at the head of every build."""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import papermill
from jupyter_client.manager import AsyncKernelManager

KERNEL = "python3"

NOT_APPLICABLE = "NotApplicable"   # the exception a chapter raises when it does not apply to the cohort

PR_SET_PDEATHSIG = 1       # linux/prctl.h: the signal a process gets when its parent dies

# libc's prctl, looked up once here: a child between fork and exec (jupyter-book's preexec_fn) only calls it
PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_build(build: int) -> None:
    """Run first in every child of the build (pool worker, jupyter-book): the child is killed as soon as
    the build's process `build` dies, even by SIGKILL (Linux PR_SET_PDEATHSIG), so no orphan keeps
    working or holds a file; Ctrl-C is left to the build, which stops its children itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if PRCTL is not None:
        PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != build:  # the build died before the line above
        os._exit(1)


class SocketFileKernelManager(AsyncKernelManager):
    """A kernel that talks over unix socket files in a folder of its own, not TCP ports: jupyter_client picks free
    ports by binding and releasing them, so two kernels starting at once in two builds (make test runs builds side
    by side) could pick the same port, and one died with 'Address already in use'."""
    transport = "ipc"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.ip = str(Path(tempfile.mkdtemp(prefix="ln-kernel-")) / "k")   # short: a socket path has <= 107 bytes

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if not restart:
            shutil.rmtree(Path(self.ip).parent, ignore_errors=True)


def execute_notebook(notebook: str, output: str, parameters: dict) -> str:
    """Run one notebook with papermill (the one executor of the project); returns '' or the error in
    one line ('NotApplicable: ...' when the chapter does not apply to the cohort)."""
    try:
        papermill.execute_notebook(notebook, output, parameters=parameters, kernel_name=KERNEL,
                                   cwd=str(Path(notebook).parent), progress_bar=False, log_output=False,
                                   kernel_manager_class=SocketFileKernelManager)
        return ""
    except Exception as err:  # noqa: BLE001 - reported, and the build stops (unless the chapter does not apply)
        if getattr(err, "ename", "") == NOT_APPLICABLE:
            return f"{NOT_APPLICABLE}: {getattr(err, 'evalue', '')}"
        return f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"


def run_logged(notebook: str, output: str, parameters: dict, log: str) -> tuple[float, str]:
    """execute_notebook in a worker process, its kernel's stderr to `log`; returns (seconds, error or '')."""
    with open(log, "w") as f:  # the kernel inherits file descriptor 2
        os.dup2(f.fileno(), 2)
    start = time.perf_counter()
    error = execute_notebook(notebook, output, parameters)
    return time.perf_counter() - start, error
