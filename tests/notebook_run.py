"""Run one chapter with papermill into a test's folder and read back what it printed."""
import json

import papermill

from helpers.paths import REPO_ROOT


def run_chapter(notebook: str, tmp_path, **parameters) -> str:
    """Execute notebooks/<notebook> with `parameters` (result files into tmp_path/results); the text of
    every output, joined."""
    out = tmp_path / notebook
    papermill.execute_notebook(str(REPO_ROOT / "notebooks" / notebook), str(out), kernel_name="python3",
                               parameters={"output_dir": str(tmp_path / "results"), **parameters},
                               cwd=str(REPO_ROOT / "notebooks"), progress_bar=False)
    book = json.loads(out.read_text(encoding="utf-8"))
    return "\n".join("".join(o.get("data", {}).get("text/plain", "")) + "".join(o.get("text", ""))
                     for c in book["cells"] for o in c.get("outputs", []))
