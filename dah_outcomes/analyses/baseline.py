"""Table 1: baseline characteristics of DAH patients by group, as tableone and gtsummary
present them (n (%) for flags, median [IQR] for measurements, missing counts, standardised
mean differences)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dah_outcomes.analyses.table_files import write_table
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.frames import patient_outcomes
from dah_outcomes.endpoints.grouping import attach_group, check_by
from dah_outcomes.results import ResultMixin

__all__ = ["DEFINES_ARM", "TableOne", "baseline_frame", "table_one"]

#: The SMD note of a flag the arm definition reads, in a table by arm.
DEFINES_ARM = "defines arm"

#: (column, label, kind) of the default Table 1 rows; kind "flag" or "number".
DEFAULT_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("age_at_onset", "Age at first DAH, years", "number"),
    ("female", "Female", "flag"),
    ("historical_era", "Onset before 2000", "flag"),
    ("first_manifestation", "DAH as first manifestation of SLE", "flag"),
    ("nephritis", "Active lupus nephritis", "flag"),
    ("infection", "Concurrent infection", "flag"),
    ("severe", "Severe presentation", "flag"),
    ("hemoglobin_drop", "Haemoglobin fall, g/dL", "number"),
    ("bal_confirmed", "BAL-confirmed", "flag"),
    ("icu_admission", "ICU admission", "flag"),
    ("mechanical_ventilation", "Mechanical ventilation", "flag"),
    ("ventilation_days", "Ventilation, days (if ventilated)", "number"),
    ("ecmo", "ECMO", "flag"),
    ("methylprednisolone_pulse", "IV methylprednisolone pulses", "flag"),
    ("cyclophosphamide", "Cyclophosphamide", "flag"),
    ("plasmapheresis", "Plasmapheresis", "flag"),
    ("rituximab", "Rituximab", "flag"),
    ("mycophenolate", "Mycophenolate", "flag"),
    ("hydroxychloroquine", "Hydroxychloroquine", "flag"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TableOne(ResultMixin):
    """Baseline characteristics by group.

    Attributes
    ----------
    table : DataFrame
        One row per variable: ``variable, label, kind, statistic`` (``n (%)`` or
        ``median [IQR]``), one column per group with the formatted cell, ``missing`` (per group,
        ``"a / b / c"``), ``smd`` (mean of pairwise standardised mean differences, as R's
        tableone prints for more than two groups) and ``smd_note``: ``"defines arm"`` for
        the treatment flags the arm definition reads when the table is by arm (every arm is
        0% or 100% by construction, so no SMD is shown: it would be infinite), else empty.
    counts : dict of str to int
        Patients per group, in the grouping's order.
    cell_counts : DataFrame
        The numbers behind the cells, one row per variable and group (``"overall"`` too):
        ``variable, group, events`` (patients with the flag; NaN for measurements),
        ``known`` (patients with the value recorded) and ``missing``. What small-cell
        suppression judges, so that no one parses the formatted cells back.
    by : str
        Grouping (a key of :data:`~dah_outcomes.endpoints.GROUPINGS`).
    """

    table: pd.DataFrame = field(repr=False)
    counts: dict[str, int]
    by: str
    cell_counts: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy)."""
        return self.table.copy()

    def _title(self) -> str:
        groups = ", ".join(f"{g} (n = {n:,})" for g, n in self.counts.items())
        return f"Table 1 by {self.by}: {groups}"

    @property
    def caption(self) -> str:
        """The table's title, with the patients per group (as its files are captioned)."""
        return self._title()

    def summary_frame(self) -> pd.DataFrame:
        """The table as a paper prints it: the characteristic (with its statistic), a cell
        per group, the missing counts only where something is missing, and the SMD to two
        decimals (``"defines arm"`` for the flags the arms are built from, never ``inf``).

        Returns
        -------
        DataFrame
        """
        t = self.table
        groups = [c for c in t.columns if c not in _INTERNAL_COLUMNS]
        out = pd.DataFrame({"Characteristic": t["label"] + ", " + t["statistic"]})
        for g in groups:
            out[g] = t[g]
        missing = t["missing"].astype(str)
        if missing.str.contains(r"[1-9]").any():
            out["Missing"] = missing
        note = t["smd_note"].astype(str)
        out["SMD"] = [
            n if n else ("" if not np.isfinite(v) else f"{v:.2f}")
            for v, n in zip(t["smd"].astype(float), note, strict=True)
        ]
        return out

    def write(self, path: str | Path) -> Path:
        """Write :meth:`summary_frame` to a file, its format by suffix: ``.csv``, ``.md``
        (Markdown), ``.tex`` (LaTeX, booktabs) or ``.html``, with the title as caption.

        Parameters
        ----------
        path : str or Path
            The file (written atomically; the same table gives the same bytes).

        Returns
        -------
        Path
            The file written.

        Examples
        --------
        >>> import tempfile
        >>> from dah_outcomes import generate_cohort, table_one
        >>> t1 = table_one(generate_cohort(n_sle=2000, seed=1), by="era")
        >>> with tempfile.TemporaryDirectory() as d:
        ...     text = t1.write(Path(d) / "table1.md").read_text()
        >>> text.startswith("**Table 1 by era")
        True
        """
        return write_table(self.summary_frame(), path, caption=self.caption)


#: columns of ``TableOne.table`` that are not a group's cells
_INTERNAL_COLUMNS = frozenset(
    {"variable", "label", "kind", "statistic", "missing", "smd", "smd_note"}
)

#: Variables that apply only where another flag is true (missing counted among those only).
_APPLIES_IF = {"ventilation_days": "mechanical_ventilation"}

#: Rows that only restate the grouping (every group 0% or 100%) and are left out under it.
_RESTATES = {"era": "historical_era", "sex": "female"}


def _smd_pair(a: pd.Series, b: pd.Series, kind: str) -> float:
    a, b = a.dropna().astype(float), b.dropna().astype(float)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    if kind == "flag":
        p1, p2 = a.mean(), b.mean()
        denom = np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
        diff = p1 - p2
    else:
        denom = (
            np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
            if len(a) > 1 and len(b) > 1
            else float("nan")
        )
        diff = a.mean() - b.mean()
    if denom == 0:
        return 0.0 if diff == 0 else float("inf")
    return float(abs(diff) / denom)


def _cell(s: pd.Series, kind: str) -> str:
    known = s.dropna()
    if kind == "flag":
        k, n = int(known.astype(bool).sum()), len(known)
        return f"{k} ({100 * k / n:.1f}%)" if n else "–"
    if known.empty:
        return "–"
    q = known.astype(float).quantile([0.25, 0.5, 0.75])
    return f"{q[0.5]:.1f} [{q[0.25]:.1f}, {q[0.75]:.1f}]"


def _analysis_frame(
    cohort: Cohort, by: str, arms: ArmDefinition, eras: EraDefinition
) -> pd.DataFrame:
    """Per DAH patient (indexed by id): the ``by`` group and the Table 1 variables."""
    out = attach_group(
        patient_outcomes(cohort, arms=arms, eras=eras), cohort, by, arms=arms, eras=eras
    ).set_index("patient_id")
    index = cohort.episodes[cohort.episodes["episode_number"] == 1].set_index("patient_id")
    p = cohort.patients.set_index("patient_id").reindex(out.index)
    frame = pd.DataFrame(index=out.index)
    frame["group"] = out[by]
    if "birth_date" in p:
        frame["age_at_onset"] = (out["onset_date"] - p["birth_date"]).dt.days / 365.25
    if "sex" in p:
        # the stubs do not accept NA, the "boolean" dtype's missing value, as where's other
        frame["female"] = (
            (p["sex"] == "F").astype("boolean").where(p["sex"].isin(["F", "M"]), pd.NA)  # type: ignore[call-overload]
        )
    frame["historical_era"] = (out["era"] == eras.labels[0]).astype("boolean")
    for col in index.columns:
        if col not in frame and col not in ("episode_number",):
            frame[col] = index[col].reindex(out.index)
    if "ventilation_days" in frame and "mechanical_ventilation" in frame:
        frame["ventilation_days"] = frame["ventilation_days"].where(
            frame["mechanical_ventilation"].fillna(False).astype(bool)
        )
    return frame


def baseline_frame(
    cohort: Cohort,
    by: str = "arm",
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
) -> pd.DataFrame:
    """The per-patient frame Table 1 is computed from.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    by : str, default "arm"
        Grouping (see :data:`~dah_outcomes.endpoints.GROUPINGS`).
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.

    Returns
    -------
    DataFrame
        Indexed by patient id: ``group`` (categorical, the grouping's order) and the columns
        of :data:`DEFAULT_VARIABLES` the cohort has, from the first episode.
    """
    check_by(by)
    return _analysis_frame(cohort, by, arms, eras)


def table_one(
    cohort: Cohort,
    by: str = "arm",
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
    variables: tuple[tuple[str, str, str], ...] = DEFAULT_VARIABLES,
) -> TableOne:
    """Baseline characteristics of DAH patients (first episode) by ``by``.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    by : {"arm", "era", "site", "sex"}, default "arm"
        Grouping (see :data:`~dah_outcomes.endpoints.GROUPINGS`); columns follow its order.
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.
    variables : tuple of (column, label, kind)
        Rows to show; columns absent from the cohort are skipped, and so is the row that
        restates the grouping (onset before 2000 by era, female by sex).

    Returns
    -------
    TableOne
    """
    check_by(by)
    frame = _analysis_frame(cohort, by, arms, eras)
    labels = frame["group"]
    groups = [str(g) for g in labels.cat.categories]
    defining = {f for a in arms.arms for f in a.flags} if by == "arm" else set()
    rows = []
    numbers: list[dict[str, object]] = []
    for col, label, kind in variables:
        if col not in frame or frame[col].isna().all() or _RESTATES.get(by) == col:
            continue
        applies = (
            frame[_APPLIES_IF[col]].fillna(False).astype(bool)
            if col in _APPLIES_IF
            else pd.Series(True, index=frame.index)
        )
        parts = {g: frame.loc[(labels == g) & applies, col] for g in groups}
        row: dict[str, str | float] = {
            "variable": col,
            "label": label,
            "kind": kind,
            "statistic": "n (%)" if kind == "flag" else "median [IQR]",
            "overall": _cell(frame.loc[applies, col], kind),
        }
        row.update({g: _cell(s, kind) for g, s in parts.items()})
        for g, s in {"overall": frame.loc[applies, col], **parts}.items():
            known = s.dropna()
            numbers.append(
                {
                    "variable": col,
                    "group": g,
                    "events": int(known.astype(bool).sum()) if kind == "flag" else np.nan,
                    "known": len(known),
                    "missing": int(s.isna().sum()),
                }
            )
        row["missing"] = " / ".join(str(int(s.isna().sum())) for s in parts.values())
        pairs = [_smd_pair(parts[a], parts[b], kind) for a, b in itertools.combinations(groups, 2)]
        row["smd"] = (
            float(np.nanmean(pairs)) if pairs and not np.all(np.isnan(pairs)) else (float("nan"))
        )
        row["smd_note"] = ""
        if col in defining:
            row["smd"], row["smd_note"] = float("nan"), DEFINES_ARM
        rows.append(row)
    counts = {g: int((labels == g).sum()) for g in groups}
    return TableOne(
        table=pd.DataFrame(rows),
        counts=counts,
        by=by,
        cell_counts=pd.DataFrame(
            numbers, columns=["variable", "group", "events", "known", "missing"]
        ),
    )
