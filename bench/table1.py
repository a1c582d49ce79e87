"""Table 1 for large cohorts: tableone's statistics and layout, computed by group codes.

`table_one(frame, columns, categorical, nonnormal, groupby)` returns the frame
`tableone.TableOne(...).tableone` returns for the same arguments (with
`pval=True, htest_name=True, missing=False` unless told otherwise): the same
rows, columns, formatted strings and p-values. The work is counts with
np.bincount on integer codes, and numpy/scipy on one array per group, so the
cost is a few passes over each column instead of tableone's per-value string
conversion and pivot tables.

Statistics, as tableone 0.9.6 computes them (tableone/tableone.py, tables.py,
statistics.py, formatting.py):
- n: rows per group; Overall is every row, including rows with no group.
- continuous: "mean (SD)", np.nanmean and np.nanstd(ddof) (0.0 for a single row);
  nonnormal: "median [Q1,Q3]", np.nanmedian and np.nanpercentile 25 / 75
  (linear interpolation). Values in the column's own dtype (float32 stays float32).
- categorical: "n (percent)" per level; a missing value is the level "None";
  levels are the sorted text of the values, percent is of the group's rows.
- decimals: an int, or a dict per variable (default 1); continuous statistics
  and percentages use it.
- p-values (printed to 3 decimals, "<0.001" below): Welch's t-test for a normal
  variable in two groups with >= 2 values each, else one-way ANOVA; Kruskal-Wallis
  for nonnormal; chi-square (scipy's chi2_contingency, Yates-corrected when the
  table has one degree of freedom) for categorical, switching to Fisher's exact
  test for a 2x2 table with an expected count < 5 or a group < 5, and naming the
  test "Chi-squared (warning: expected count < 5)" for larger tables. A variable
  with no values in a group is "Not tested".
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

NULL_LEVEL = "None"  # tableone's name for the missing-value level of a categorical variable


def table_one(frame: pd.DataFrame, columns: list[str], categorical: list[str] | None = None,
              nonnormal: list[str] | None = None, groupby: str | None = None, *,
              decimals: int | dict = 1, rename: dict | None = None, pval: bool = True,
              htest_name: bool = True, missing: bool = False, overall: bool = True,
              ddof: int = 1, label_suffix: bool = True) -> pd.DataFrame:
    """Table 1 of `frame`: one row per continuous variable, one per level of a categorical one."""
    categorical = list(categorical or [])
    nonnormal = list(nonnormal or [])
    columns = list(columns)
    rename = dict(rename or {})
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise KeyError(f"columns not in the frame: {', '.join(map(str, unknown))}")
    groups = _Groups(frame, groupby)

    rows: list[tuple] = []
    cells: dict[str, list] = {name: [] for name in groups.columns(overall)}
    extra = {"Missing": [], "P-Value": [], "Test": []}

    def add(label, level, values: dict, missing_count, p, test):
        rows.append((label, level))
        for name in cells:
            cells[name].append(values[name])
        extra["Missing"].append(missing_count)
        extra["P-Value"].append(p)
        extra["Test"].append(test)

    add("n", "", {**({"Overall": len(frame.index)} if overall or groupby is None else {}),
                  **{name: count for name, count in zip(groups.names, groups.sizes)}}, "", "", "")

    for column in columns:
        if column == groupby:
            continue
        label = _label(column, rename, label_suffix, column in nonnormal, column in categorical)
        places = _places(decimals, column)
        if column in categorical:
            levels, counts, overall_counts = groups.level_counts(frame[column])
            p, test = _categorical_test(counts) if pval else (np.nan, "")
            for i, level in enumerate(levels):
                values = {name: _count_percent(counts[g, i], counts[g].sum(), places)
                          for g, name in enumerate(groups.names)}
                if overall or groupby is None:
                    values["Overall"] = _count_percent(overall_counts[i], overall_counts.sum(), places)
                first = i == 0  # tableone shows the p-value and test on a variable's first row only
                add(label, level, values, "", _format_p(p) if first else "", test if first else "")
        else:
            values_all = _numeric(frame[column])
            parts = groups.split(values_all)
            summary = _mean_sd if column not in nonnormal else _median_iqr
            values = {name: summary(part, places, ddof) for name, part in zip(groups.names, parts)}
            if overall or groupby is None:
                values["Overall"] = summary(values_all, places, ddof)
            p, test = (_continuous_test(column, parts, column not in nonnormal) if pval and groupby
                       else (np.nan, ""))
            add(label, "", values, int(np.isnan(values_all).sum()) if values_all.dtype.kind == "f" else 0,
                _format_p(p), test)

    table = pd.DataFrame(cells, index=pd.MultiIndex.from_tuples(rows, names=[None, None]), dtype=object)
    order = groups.column_order(overall)
    if missing:
        table.insert(0, "Missing", pd.Series(extra["Missing"], index=table.index, dtype=object))
        order = ["Missing"] + order
    if pval and groupby is not None:
        table["P-Value"] = extra["P-Value"]
        order.append("P-Value")
        if htest_name:
            table["Test"] = extra["Test"]
            order.append("Test")
    table = table[order].astype(object)
    if groupby is not None:
        header = f"Grouped by {rename.get(groupby, groupby)}"
        table.columns = pd.MultiIndex.from_product([[header], table.columns])
    return table


# --- groups --------------------------------------------------------------------

class _Groups:
    """Rows of a frame split by the values of one column (tableone's group order)."""

    def __init__(self, frame: pd.DataFrame, groupby: str | None):
        self.n_rows = len(frame.index)
        self.ordered = False
        if groupby is None:
            self.names, self.codes, self.levels, self.sizes, self.order = [], None, [], [], None
            return
        key = frame[groupby]
        if isinstance(key.dtype, pd.CategoricalDtype):
            codes = key.cat.codes.to_numpy().astype(np.int64)
            uniques = list(key.cat.categories)  # tableone lists every category, seen or not
        else:
            codes, uniques = pd.factorize(key, sort=False)
            uniques = list(uniques)
        self.ordered = isinstance(key.dtype, pd.CategoricalDtype) and key.dtype.ordered
        if self.ordered:  # tableone follows the categories' order
            rank = list(range(len(uniques)))
        else:  # sorted(frame.groupby(groupby).groups)
            rank = sorted(range(len(uniques)), key=lambda i: uniques[i])
        remap = np.full(len(uniques) + 1, -1, dtype=np.int64)
        remap[np.asarray(rank, dtype=np.int64)] = np.arange(len(rank))
        self.codes = remap[codes]  # code -1 (no group) stays -1 via remap[-1]
        self.levels = [uniques[i] for i in rank]
        self.names = [str(v) for v in self.levels]
        self.sizes = np.bincount(self.codes[self.codes >= 0], minlength=len(rank)).astype(np.int64)
        self.order = np.argsort(self.codes, kind="stable")
        self.bounds = np.searchsorted(self.codes[self.order], np.arange(len(rank) + 1) - 0.5)
        self.bounds[-1] = self.n_rows

    def columns(self, overall: bool) -> list[str]:
        return (["Overall"] if overall or self.codes is None else []) + list(self.names)

    def column_order(self, overall: bool) -> list[str]:
        # tableone puts group columns in text order (the MultiIndex level order), unless the
        # grouping column is an ordered categorical
        names = list(self.names) if self.ordered else sorted(self.names)
        return (["Overall"] if overall or self.codes is None else []) + names

    def split(self, values: np.ndarray) -> list[np.ndarray]:
        if self.codes is None:
            return []
        ordered = values[self.order]
        return [ordered[self.bounds[g]:self.bounds[g + 1]] for g in range(len(self.names))]

    def level_counts(self, column: pd.Series):
        """Levels (sorted text), counts per group x level, counts over every row."""
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy().astype(np.int64)
            uniques = list(column.cat.categories)
        else:
            codes, uniques = pd.factorize(column, sort=False, use_na_sentinel=True)
            codes = codes.astype(np.int64)
            uniques = list(uniques)
        texts = [str(v) for v in uniques] + [NULL_LEVEL]  # code -1 (missing) -> "None"
        codes = np.where(codes < 0, len(uniques), codes)
        overall_raw = np.bincount(codes, minlength=len(texts))
        seen = overall_raw > 0
        levels = sorted({t for t, s in zip(texts, seen) if s})
        level_of = np.array([levels.index(t) if s else -1 for t, s in zip(texts, seen)], dtype=np.int64)
        overall_counts = np.bincount(level_of[seen], weights=overall_raw[seen], minlength=len(levels)).astype(np.int64)
        if self.codes is None:
            return _ordered_levels(column, levels, np.zeros((0, len(levels)), dtype=np.int64), overall_counts)
        n_groups = len(self.names)
        in_group = self.codes >= 0
        joint = self.codes[in_group] * len(texts) + codes[in_group]
        raw = np.bincount(joint, minlength=n_groups * len(texts)).reshape(n_groups, len(texts))
        counts = np.zeros((n_groups, len(levels)), dtype=np.int64)
        for t in np.flatnonzero(seen):  # a few levels, not rows
            counts[:, level_of[t]] += raw[:, t]
        return _ordered_levels(column, levels, counts, overall_counts)


def _ordered_levels(column, levels, counts, overall_counts):
    """tableone's order for an ordered categorical variable: its categories, then the rest."""
    if not (isinstance(column.dtype, pd.CategoricalDtype) and column.dtype.ordered):
        return levels, counts, overall_counts
    wanted = [str(c) for c in column.dtype.categories if str(c) in levels]
    new = wanted + [lv for lv in levels if lv not in wanted]
    index = [levels.index(lv) for lv in new]
    return new, counts[:, index], overall_counts[index]


# --- statistics and formatting ------------------------------------------------

def _numeric(column: pd.Series) -> np.ndarray:
    values = pd.to_numeric(column)
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    return values.to_numpy()


def _places(decimals, column) -> int:
    if isinstance(decimals, dict):
        return decimals.get(column, 1)
    return decimals if isinstance(decimals, int) else 1


def _mean_sd(x: np.ndarray, n: int, ddof: int) -> str:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = 0.0 if len(x) == 1 else np.nanstd(x, ddof=ddof)
        return f"{{:.{n}f}} ({{:.{n}f}})".format(np.nanmean(x), sd)


def _median_iqr(x: np.ndarray, n: int, ddof: int) -> str:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if len(x) == 0:
            return f"{{:.{n}f}} [{{:.{n}f}},{{:.{n}f}}]".format(np.nan, np.nan, np.nan)
        return f"{{:.{n}f}} [{{:.{n}f}},{{:.{n}f}}]".format(
            np.nanmedian(x), np.nanpercentile(x, 25), np.nanpercentile(x, 75))


def _count_percent(count, total, n: int) -> str:
    percent = float(np.float64(count) / np.float64(total) * 100) if total else np.nan
    return f"{int(count)} ({percent:.{n}f})"


def _format_p(p) -> str:
    if p is None or pd.isnull(p):
        return ""
    p = float(p)
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _continuous_test(column, parts: list[np.ndarray], normal: bool):
    # tableone tests values passed one by one through pd.to_numeric: float32 arrives as float64
    observed = [part[~np.isnan(part)].astype(np.float64) if part.dtype.kind == "f" else part.astype(np.int64)
                for part in parts]
    if not observed or min(len(o) for o in observed) == 0:
        warnings.warn(f"No P-Value was computed for {column} due to the low number of observations.", stacklevel=2)
        return np.nan, "Not tested"
    if normal and len(observed) == 2 and min(len(o) for o in observed) >= 2:
        return stats.ttest_ind(*observed, equal_var=False, nan_policy="omit").pvalue, "Welch’s T-test"
    if normal:
        return stats.f_oneway(*observed).pvalue, "One-way ANOVA"
    return stats.kruskal(*observed).pvalue, "Kruskal-Wallis"


def _categorical_test(counts: np.ndarray):
    table = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]  # pd.crosstab keeps what is seen
    if table.size == 0:
        return np.nan, "Not tested"
    smallest_group = table.sum(axis=1).min()
    levels_by_groups = table.T.tolist()
    _, p, _, expected = stats.chi2_contingency(levels_by_groups)
    if expected.min() < 5 or smallest_group < 5:
        if np.shape(levels_by_groups) == (2, 2):
            return stats.fisher_exact(levels_by_groups)[1], "Fisher's exact"
        return p, "Chi-squared (warning: expected count < 5)"
    return p, "Chi-squared"


def _label(column, rename, label_suffix, nonnormal, categorical) -> str:
    label = rename.get(column, column)
    if not label_suffix:
        return label
    if nonnormal:
        return f"{label}, median [Q1,Q3]"
    if categorical:
        return f"{label}, n (%)"
    return f"{label}, mean (SD)"
