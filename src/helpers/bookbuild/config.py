"""The params file of a book: reading it (YAML with limits: size, nesting, no anchors or aliases, no
duplicate keys), checking it through the one settings model (helpers.bookbuild.settings), with every
problem one line naming the file and the key; its name (the book's folders are named after it);
which parameters reach which notebook; and what cohort it points at (data folders, the studies
present, whether it is the reconstruction)."""
from __future__ import annotations

import ast
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import papermill
import yaml
from pydantic import ValidationError

from helpers import paths
from helpers.bookbuild import settings
from helpers.bookbuild.settings import DEFAULT_DATA_DIR, RESERVED, Settings  # noqa: F401 - part of this module's surface
from helpers.cohort.data import DataError, cohort_folders, excluded_rows, read_patients
from helpers.compare.results import resolve
from helpers.paths import DEFAULT_PARAMS
from helpers.publication import published

# Global parameters a params file may set, with their meaning; each goes to every notebook whose parameters
# cell defines it.
GLOBALS = {name: text for name, text in settings.DESCRIPTIONS.items() if name in Settings.model_fields
           and name != "notebooks"}

MAX_BYTES = 64 * 1024   # a params file is a few lines; more is not a params file
MAX_DEPTH = 8           # params nest three deep (notebooks: 02_response: criteria: ...)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")   # a book's name: its folders are named after it


class ParamsError(ValueError):
    pass


def book_name(path: Path) -> str:
    """The name of the book a params file builds (its file name without .yaml), checked: letters, digits, '_'
    and '-' only, so that the folders named after it (_build/staging/<name>, _build/variants/<name>) are
    plain sub-folders; params/default.yaml is 'default', and no other file may take that name."""
    path = Path(path)
    stem = path.name[:-len(path.suffix)] if path.suffix in (".yaml", ".yml") else ""
    if not NAME.fullmatch(stem) or any(unicodedata.category(c) in ("Cc", "Cf") for c in str(path)):
        raise ParamsError(f"{printable(str(path))}: a params file is named <name>.yaml, the name of letters, digits, "
                          "'_' and '-' (at most 64, the first a letter or digit), since the book's folders are "
                          "named after it: rename the file, e.g. my_cohort.yaml")
    if stem == "default" and path.resolve() != DEFAULT_PARAMS.resolve():
        raise ParamsError(f"{path}: 'default' is the name of params/default.yaml's book: rename the file")
    return stem


def printable(text: str) -> str:
    """`text` with every control or format character (newline, ANSI escape, NUL, bidirectional override) written
    as its escape (\\n, \\x1b, \\x00, \\u202e), so that it shows as what it is."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Params:
    path: Path
    values: dict                                    # global parameters the file sets (and min_cell, see settings)
    notebooks: dict = field(default_factory=dict)   # {notebook stem: {parameter: value}}
    settings: Settings = field(default_factory=Settings)   # every parameter, defaults filled in
    notes: tuple[str, ...] = ()                     # for the build log

    @property
    def is_default(self) -> bool:
        return self.path.resolve() == DEFAULT_PARAMS.resolve()

    @property
    def name(self) -> str:
        return book_name(self.path)

    def flat(self) -> dict:
        """Every setting as {'name' or 'criteria.x' or 'notebook.name': value}, for comparisons."""
        out = {k: v for k, v in self.values.items() if k != "criteria"}
        out |= {f"criteria.{k}": v for k, v in self.values.get("criteria", {}).items()}
        out |= {f"{nb}.{k}": v for nb, over in self.notebooks.items() for k, v in over.items()}
        return out


def load_params(path: str | Path) -> Params:
    """Read and check a params file; a ParamsError (one line) names the file, the key and what to do."""
    path = Path(path)
    book_name(path)
    raw = read_yaml(path)
    raw = {} if raw is None else raw   # an empty file: the default run
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of parameter names to values, e.g. 'window: 30'")
    try:
        checked = Settings.model_validate(raw)
    except ValidationError as err:
        problems = [_problem(e) for e in err.errors()]
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise ParamsError(f"{path}: " + "; ".join(problems[:5]) + more) from None
    notes, real, low = (), settings.REAL_COHORT_MIN_CELL, checked.min_cell
    if checked.real_cohort() and checked.min_cell_in_force() < real:
        shown = f"groups of {low} to {real - 1} patients are shown" if low else "disclosure control is off"
        notes = (f"min_cell is {low} (set in {path}), below {real}, the default for a real cohort: {shown}",)
    return Params(path=path, values=checked.values(), notebooks=checked.overrides(), settings=checked, notes=notes)


class _Loader(yaml.SafeLoader):
    """YAML as a params file needs it: no anchors or aliases (so no 'billion laughs'), no duplicate keys, at most
    MAX_DEPTH levels of nesting."""

    depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.MarkedYAMLError(problem="anchors and aliases (& and *) are not allowed in a params file: "
                                               "write each value out", problem_mark=event.start_mark)
        if self.depth >= MAX_DEPTH:
            raise yaml.MarkedYAMLError(problem=f"nested more than {MAX_DEPTH} levels deep",
                                       problem_mark=event.start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key in (k for k, _ in node.value if isinstance(k, yaml.ScalarNode)):
            if key.value in seen:
                raise yaml.MarkedYAMLError(problem=f"{key.value!r} is given twice: keep one",
                                           problem_mark=key.start_mark)
            seen.add(key.value)
        return super().construct_mapping(node, deep)


def read_yaml(path: Path):
    """The YAML in `path`, read with the limits of _Loader and at most MAX_BYTES; a ParamsError (one line) if not."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as err:
        raise ParamsError(f"{path}: cannot be read: {err.strerror or err}") from None
    if len(data) > MAX_BYTES:
        raise ParamsError(f"{path}: larger than {MAX_BYTES // 1024} KiB; a params file is a few lines of YAML")
    try:
        return yaml.load(data.decode("utf-8"), Loader=_Loader)
    except UnicodeDecodeError as err:
        raise ParamsError(f"{path}: not UTF-8 text (byte {err.start}): save it as UTF-8") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = " ".join(str(x) for x in (err.context, err.problem) if x)
        raise ParamsError(f"{path}: {where}{what}") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None


def _problem(error: dict) -> str:
    """One pydantic error as 'key.path: what is wrong, not <value>' (or the validator's own words)."""
    key = ".".join(map(str, error["loc"]))
    if error["type"] == "extra_forbidden":
        if error["loc"][-1] in RESERVED:
            return f"{key}: set by the pipeline, not by a params file"
        return f"{key}: unknown name (known here: {', '.join(_known(error['loc'][:-1]))})"
    if error["type"] == "value_error":
        text = str(error["ctx"]["error"])
        return f"{key}: {text}" if key else text
    value = repr(error["input"])
    value = value if len(value) <= 60 else value[:57] + "..."
    return f"{key}: {error['msg'][0].lower()}{error['msg'][1:]}, not {value}"


def _known(where: tuple) -> list[str]:
    """The names allowed at a place in a params file."""
    if where[-1:] == ("criteria",):
        return list(settings.CriteriaOverrides.__annotations__)
    if where == ("notebooks",):
        return list(settings.NOTEBOOKS)
    if len(where) == 2 and where[0] == "notebooks":
        return list(settings.NOTEBOOKS[where[1]].model_fields)
    return list(Settings.model_fields)


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
            sorted({c.study for c in comparisons(params).values()})
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
    return [s for s in paths.studies() if s in found]


def studies_compared(params: Params, matched: dict[str, Matched]) -> list[str]:
    """The study files this build compares its rows with: those whose patients are in the data, and those a real
    cohort is matched to (`matched`, from check_comparisons); in paths.studies() order."""
    used = set(studies_present(params)) | {m.study for m in matched.values()}
    return [s for s in paths.studies() if s in used]


def comparisons(params: Params) -> dict[str, settings.Comparison]:
    """{study of the cohort: what it is compared with} as `compare_with` sets it (the short form filled in)."""
    return dict(params.settings.compare_with)


@dataclass(frozen=True)
class Matched:
    """One study of a real cohort matched to the published study it is compared with: `arms` {the cohort's arm:
    the published arm} for every arm of the cohort that has one, in the published study's order."""
    ours: str
    study: str
    arms: dict[str, str]


def check_comparisons(params: Params) -> tuple[dict[str, Matched], list[str]]:
    """`compare_with` checked against the cohort: each key a study of the data, the arms of the long form arms of
    that study, and at least one arm matched by name (or by the mapping) to the published study's. Returns the
    matches and notes for the build log (an arm with no counterpart); a ParamsError, one line naming the file, the
    key and the valid names, when it does not fit."""
    patients = {}
    for frame in patients_by_folder(params).values():
        for study, rows in frame.groupby("study", sort=False):
            patients.setdefault(study, []).extend(pd.unique(rows["arm"]))
    matched, notes = {}, []
    for ours, comparison in comparisons(params).items():
        where = f"{params.path}: compare_with.{ours}"
        if ours not in patients:
            raise ParamsError(f"{where}: {ours!r} is not a study of the cohort in {params.settings.data_dir} (its "
                              f"studies: {', '.join(map(repr, patients))}); name one of them")
        arms, paper = patients[ours], published.load(comparison.study).arms
        for arm in comparison.arms:
            if arm not in arms:
                raise ParamsError(f"{where}.arms.{arm}: not an arm of {ours} (its arms: {', '.join(arms)})")
        names = {arm: comparison.arms.get(arm, arm) for arm in arms}
        found = {theirs: arm for arm, theirs in names.items() if theirs in paper}
        if not found:
            mapping = ", ".join(f"{a}: {p}" for a, p in zip(arms, paper))
            raise ParamsError(f"{where}: the arms of {ours} ({', '.join(arms)}) are not those of {comparison.study} "
                              f"({', '.join(paper)}); name them, e.g. compare_with: {{{ours}: {{study: "
                              f"{comparison.study}, arms: {{{mapping}}}}}}}")
        twice = sorted({p for p in names.values() if list(names.values()).count(p) > 1})
        if twice:
            raise ParamsError(f"{where}: two arms of {ours} are compared with {comparison.study}'s {twice[0]}; "
                              "name each arm once under arms")
        notes += [f"compare_with.{ours}: arm {arm!r} has no counterpart in {comparison.study} "
                  f"({', '.join(paper)}): its numbers are not compared" for arm in arms if names[arm] not in paper]
        matched[ours] = Matched(ours, comparison.study, {found[p]: p for p in paper if p in found})
    return matched, notes


def check_exclude(params: Params, data_dir: str | Path | None = None) -> None:
    """The tables `exclude` names, checked against the data folder(s) (`data_dir`, else the build's): a ParamsError,
    one line naming the file and the tables there are, for a table the folder does not hold."""
    for folder in [data_dir] if data_dir is not None else sorted(data_folders(params)):
        try:
            excluded_rows(resolve(folder), params.settings.exclude)
        except DataError as err:
            raise ParamsError(f"{params.path}: {err.problems[0].message}") from None


def all_reconstructed(params: Params) -> bool:
    """Does every data folder of this build hold the reconstructed cohort?"""
    return not params.settings.real_cohort()


def data_folders(params: Params) -> set[str]:
    """Every data folder a build under `params` reads."""
    return params.settings.data_folders()


def default_run_differences(notebook: Path) -> list[str]:
    """Where a notebook's parameters cell contradicts the settings model (helpers.bookbuild.settings, the one
    definition of the default run): a parameter the model does not know for it, one it lacks, or a default that
    differs; in words, [] when they agree."""
    declared = {k: v for k, v in papermill.inspect_notebook(str(notebook)).items() if k not in RESERVED}
    model = settings.NOTEBOOKS.get(notebook.stem)
    if model is None:
        return [f"{notebook.name}: not described in helpers.bookbuild.settings.NOTEBOOK_PARAMETERS"]
    problems = [f"{notebook.name}: {name} is not in its parameters cell" for name in model.model_fields
                if name not in declared]
    for name, cell in declared.items():
        if name not in model.model_fields:
            problems.append(f"{notebook.name}: {name} is not in helpers.bookbuild.settings.NOTEBOOK_PARAMETERS")
            continue
        try:
            own = ast.literal_eval(cell["default"])
        except (ValueError, SyntaxError):
            problems.append(f"{notebook.name}: {name} = {cell['default']} is not a literal")
            continue
        default = model.model_fields[name].get_default(call_default_factory=True)
        if own != default or type(own) is not type(default):
            problems.append(f"{notebook.name}: {name} = {own!r}, helpers.bookbuild.settings: {default!r}")
    return problems
