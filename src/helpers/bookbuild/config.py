"""The params file of a book: reading and checking it (unknown names are an error naming the file
and key), which parameters reach which notebook, and what cohort it points at (data folders, the
studies present, whether it is the reconstruction)."""
from __future__ import annotations

import ast
from dataclasses import dataclass, field, fields
from pathlib import Path

import papermill
import yaml

from .. import published
from ..data import cohort_folders, read_patients
from ..paths import RECONSTRUCTED_DIR, REPO_ROOT, in_reconstruction
from ..proportions import PROPORTION_TESTS
from ..response import MISSING_RULES, Criteria
from ..results import resolve

DEFAULT_PARAMS = REPO_ROOT / "params" / "default.yaml"

DEFAULT_DATA_DIR = RECONSTRUCTED_DIR.relative_to(REPO_ROOT).as_posix()   # the default run's data_dir

# Global parameters a params file may set; each goes to every notebook whose parameters cell defines it.
GLOBALS = {
    "data_dir": "cohort folder (one subfolder per study), relative to the repository root or absolute",
    "window": "visit window, days either side of a nominal timepoint",
    "criteria": "overrides of the response criteria (helpers.response.Criteria fields)",
    "missing": "missing-data rule: complete_case (as published) or nonresponder",
    "test": "test for proportions: pearson, yates, fisher or auto",
    "min_cell": "disclosure control: nothing about fewer patients is shown (helpers.disclosure; 0: off)",
    "alpha": "significance level",
    "timepoints": "nominal timepoints {name: day since baseline}, for a cohort without a study file",
    "compare_with": "{study in the data: published study} to compare a real cohort with (default: none)",
}

RESERVED = {"output_dir"}  # set by the pipeline, never by a params file


class ParamsError(ValueError):
    pass


@dataclass(frozen=True)
class Params:
    path: Path
    values: dict                                    # global parameters
    notebooks: dict = field(default_factory=dict)   # {notebook stem: {parameter: value}}

    @property
    def is_default(self) -> bool:
        return self.path.resolve() == DEFAULT_PARAMS.resolve()

    @property
    def name(self) -> str:
        return "default" if self.is_default else self.path.stem

    def flat(self) -> dict:
        """Every setting as {'name' or 'criteria.x' or 'notebook.name': value}, for comparisons."""
        out = {k: v for k, v in self.values.items() if k != "criteria"}
        out |= {f"criteria.{k}": v for k, v in self.values.get("criteria", {}).items()}
        out |= {f"{nb}.{k}": v for nb, over in self.notebooks.items() for k, v in over.items()}
        return out


def load_params(path: str | Path) -> Params:
    """Read and check a params file; a ParamsError names the file and the offending key."""

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ParamsError(f"{path}: cannot be read: {err}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of parameter names to values")
    notebooks = raw.pop("notebooks", None) or {}
    for key in raw:
        if key not in GLOBALS:
            raise ParamsError(f"{path}: unknown parameter {key!r} (known: {', '.join(GLOBALS)}, notebooks)")
    criteria = raw.get("criteria") or {}
    if not isinstance(criteria, dict):
        raise ParamsError(f"{path}: criteria: expected a mapping of criterion names to numbers")
    known = [f.name for f in fields(Criteria)]
    for key, value in criteria.items():
        if key not in known:
            raise ParamsError(f"{path}: unknown parameter 'criteria.{key}' (known: {', '.join(known)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{path}: criteria.{key}: expected a number, not {value!r}")
    if "criteria" in raw:
        raw["criteria"] = criteria
    choices = {"missing": MISSING_RULES, "test": (*PROPORTION_TESTS, "auto")}
    for key, allowed in choices.items():
        if key in raw and raw[key] not in allowed:
            raise ParamsError(f"{path}: {key}: {raw[key]!r} is not one of {', '.join(allowed)}")
    if "timepoints" in raw and raw["timepoints"] is not None and not (
            isinstance(raw["timepoints"], dict) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                        for v in raw["timepoints"].values())):
        raise ParamsError(f"{path}: timepoints: expected {{name: day since baseline}}, e.g. {{6m: 182, 1y: 365}}")
    if "compare_with" in raw:
        compare = raw["compare_with"] or {}
        if not isinstance(compare, dict):
            raise ParamsError(f"{path}: compare_with: expected {{study in the data: published study}}")
        for study, target in compare.items():
            if target not in published.studies():
                raise ParamsError(f"{path}: compare_with.{study}: no study file data/published/{target}.yaml "
                                  f"(known: {', '.join(published.studies())})")
        raw["compare_with"] = compare
    for key in ("window", "min_cell"):
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], int) or raw[key] < 0):
            raise ParamsError(f"{path}: {key}: expected a whole number >= 0, not {raw[key]!r}")
    if not isinstance(notebooks, dict) or not all(isinstance(v, dict) for v in notebooks.values()):
        raise ParamsError(f"{path}: notebooks: expected {{notebook name: {{parameter: value}}}}")
    for nb, over in notebooks.items():
        for key in over:
            if key in RESERVED:
                raise ParamsError(f"{path}: notebooks.{nb}.{key}: set by the pipeline, not by a params file")
    return Params(path=path, values=raw, notebooks=notebooks)


def notebook_parameters(notebook: Path, params: Params, output_dir: str) -> dict:
    """The parameters passed to one notebook: those of `params` its parameters cell defines
    (criteria as the dict `criteria` and/or as single names), its own overrides, and output_dir."""

    declared = papermill.inspect_notebook(str(notebook))
    candidates = dict(params.values) | dict(params.values.get("criteria", {}))
    chosen = {k: v for k, v in candidates.items() if k in declared}
    overrides = params.notebooks.get(notebook.stem, {})
    for key in overrides:
        if key not in declared:
            raise ParamsError(f"{params.path}: notebooks.{notebook.stem}.{key}: not a parameter of {notebook} "
                              f"(its parameters: {', '.join(declared)})")
    if "studies" in declared:   # the audit: the studies of the reconstruction, or those a real cohort is compared with
        chosen["studies"] = studies_present(params) if all_reconstructed(params) else \
            sorted(set(params.values.get("compare_with", {}).values()))
    return chosen | overrides | ({"output_dir": output_dir} if "output_dir" in declared else {})


def data_dir_for(params: Params, overrides: dict) -> str:
    """The data folder a notebook reads: its own override, else the global one, else the default."""
    return str(overrides.get("data_dir") or params.values.get("data_dir") or DEFAULT_DATA_DIR)


def patients_by_folder(params: Params) -> dict:
    """{cohort folder: its patients table} for every data folder of this build (patients only: cheap)."""
    return {f: read_patients(f) for d in sorted(data_folders(params)) for f in cohort_folders(resolve(d))}


def studies_present(params: Params) -> list[str]:
    """The studies with a study file whose patients are in this build's data folders."""
    found = {s for patients in patients_by_folder(params).values() for s in patients["study"]}
    return [s for s in published.studies() if s in found]


def all_reconstructed(params: Params) -> bool:
    """Does every data folder of this build hold the reconstructed cohort?"""
    return all(is_reconstruction(d) for d in data_folders(params))


def is_reconstruction(data_dir: str) -> bool:
    """Is this data folder the reconstructed cohort shipped with the book?"""
    return in_reconstruction(resolve(data_dir))


def data_folders(params: Params) -> set[str]:
    """Every data folder a build under `params` reads."""
    return {data_dir_for(params, overrides) for overrides in [{}, *params.notebooks.values()]}


def default_run_differences(notebook: Path, default: Params) -> list[str]:
    """Where a notebook's own parameter defaults contradict params/default.yaml (the one definition of
    the default run), in words; [] when they agree."""
    declared = papermill.inspect_notebook(str(notebook))
    problems = []
    for name, value in (default.values | default.notebooks.get(notebook.stem, {})).items():
        if name not in declared or name == "criteria" and value == {}:
            continue
        try:
            own = ast.literal_eval(declared[name]["default"])
        except (ValueError, SyntaxError):
            continue  # an expression, not a literal
        if own != value:
            problems.append(f"{notebook.name}: {name} = {own!r}, params/default.yaml: {value!r}")
    return problems
