"""Were the rejected patients like the accepted ones? The informative-exclusion check.

Rows rejected by an import are not a random sample: in one registry export the only rows
rejected were those of the patients who died (their "last follow-up" left blank), and the
cohort kept showed an in-hospital mortality of 0%. So whenever patients are rejected, the
import compares them with the accepted patients on what their rows still show (death,
mechanical ventilation, onset before 2000: values that failed to parse count as unknown) and
warns when the two differ materially: a risk ratio of 2 or more (or 1/2 or less) that is
worth at least one patient (the rejected patients' events differ from what the accepted
patients' proportion predicts for them by one or more), or a two-sided Fisher exact p below
0.05. With a handful of rejected patients the test has no power, but the ratio still
matters, so either triggers the warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact

from dah_outcomes.errors import InformativeExclusionWarning, warn
from dah_outcomes.io.staging import Ledger, Staged

__all__ = ["MATERIAL_P", "MATERIAL_RATIO", "compare_rejected", "warn_informative_exclusion"]

#: A risk ratio this far from 1 (either way) is a material difference.
MATERIAL_RATIO = 2.0
#: So is a two-sided Fisher exact p below this.
MATERIAL_P = 0.05

_ERA_START = pd.Timestamp("2000-01-01")


def _patient_values(staged: Staged, ledger: Ledger, table_file: Mapping[str, str]) -> pd.DataFrame:
    """Per source patient: accepted or not, and died / ventilated / historical as the rows
    show them (nullable booleans)."""
    p, e = staged.patients, staged.episodes
    p_ids = staged.raw_ids.get("patients")
    e_ids = staged.raw_ids.get("episodes")
    p_key = (p_ids if p_ids is not None else p["patient_id"]).astype("string")
    p_alive = ledger.alive_rows(table_file["patients"], p.index)
    rows = pd.DataFrame(
        {
            "id": p_key.to_numpy(),
            "accepted": p_alive,
            "died": p["death_date"].notna().to_numpy() if "death_date" in p else False,
        }
    )
    per = (
        rows.dropna(subset=["id"])
        .groupby("id")
        .agg(accepted=("accepted", "any"), died=("died", "any"))
    )
    if "episode_number" in e and len(e):
        e_key = (e_ids if e_ids is not None else e["patient_id"]).astype("string")
        first = (e["episode_number"] == 1).fillna(False).to_numpy(dtype=bool)
        index = pd.DataFrame(
            {
                "id": e_key.to_numpy()[first],
                "in_hospital_death": _flag(e, "in_hospital_death")[first],
                "ventilated": _flag(e, "mechanical_ventilation")[first],
                "historical": _historical(e)[first],
            }
        ).dropna(subset=["id"])
        index = index.groupby("id").first()
        per = per.join(index, how="left")
        per["died"] = per["died"] | per["in_hospital_death"].fillna(False).astype(bool)
    else:
        per["ventilated"] = pd.array([pd.NA] * len(per), dtype="boolean")
        per["historical"] = pd.array([pd.NA] * len(per), dtype="boolean")
    return per


def _historical(e: pd.DataFrame) -> Any:
    """Onset before 2000, unknown (not "modern") where the onset date is missing."""
    if "onset_date" not in e:
        return pd.array([pd.NA] * len(e), dtype="boolean")
    onset = e["onset_date"]
    return (onset < _ERA_START).astype("boolean").mask(onset.isna()).to_numpy()


def _flag(frame: pd.DataFrame, column: str) -> Any:
    if column not in frame:
        return pd.array([pd.NA] * len(frame), dtype="boolean")
    return frame[column].astype("boolean").to_numpy()


def compare_rejected(staged: Staged, ledger: Ledger, table_file: Mapping[str, str]) -> pd.DataFrame:
    """Rejected against accepted patients on death, ventilation and era.

    Parameters
    ----------
    staged : Staged
        Every source row, typed (values that failed to parse are missing).
    ledger : Ledger
        Which rows were accepted.
    table_file : mapping
        Table -> label of the file its rows come from.

    Returns
    -------
    DataFrame
        One row per characteristic (``died``, ``ventilated``, ``historical``):
        ``characteristic, rejected_events, rejected_known, accepted_events, accepted_known,
        risk_ratio, p_value, material``; empty when no patient was rejected.
    """
    per = _patient_values(staged, ledger, table_file)
    rejected = ~per["accepted"].astype(bool)
    if not rejected.any() or rejected.all():
        return pd.DataFrame(columns=_COLUMNS)
    out = []
    for name in ("died", "ventilated", "historical"):
        values = per[name].astype("boolean")
        rk, rn = _counts(values[rejected])
        ak, an = _counts(values[~rejected])
        if rn == 0 or an == 0:
            continue
        ratio = _risk_ratio(rk, rn, ak, an)
        p = float(fisher_exact([[rk, rn - rk], [ak, an - ak]])[1])
        # a ratio counts when it is worth at least one patient: 0 deaths among 3 rejected
        # against 12% accepted (0.4 expected) is no difference, 9 of 9 against 2 of 31 is
        far = ratio >= MATERIAL_RATIO or ratio <= 1 / MATERIAL_RATIO
        worth = abs(rk - rn * ak / an) >= 1
        material = bool(p < MATERIAL_P or (far and worth))
        out.append((name, rk, rn, ak, an, ratio, p, material))
    return pd.DataFrame(out, columns=_COLUMNS)


_COLUMNS = [
    "characteristic",
    "rejected_events",
    "rejected_known",
    "accepted_events",
    "accepted_known",
    "risk_ratio",
    "p_value",
    "material",
]
_WORDS = {"died": "died", "ventilated": "were ventilated", "historical": "had onset before 2000"}


def _counts(values: pd.Series) -> tuple[int, int]:
    known = values.dropna()
    return int(known.sum()), len(known)


def _risk_ratio(rk: int, rn: int, ak: int, an: int) -> float:
    if ak == 0:
        return float("inf") if rk else float("nan")
    return (rk / rn) / (ak / an)


def warn_informative_exclusion(comparison: pd.DataFrame) -> tuple[str, ...]:
    """Warn when the rejected patients differ materially from the accepted ones.

    Parameters
    ----------
    comparison : DataFrame
        From :func:`compare_rejected`.

    Returns
    -------
    tuple of str
        The message issued (one), or empty when no difference is material.

    Warns
    -----
    InformativeExclusionWarning
        When a characteristic differs materially.
    """
    material = comparison[comparison["material"].astype(bool)] if len(comparison) else comparison
    if not len(material):
        return ()
    parts = []
    for r in material.to_dict("records"):
        words = _WORDS[r["characteristic"]]
        ratio = r["risk_ratio"]
        rr = "inf" if np.isinf(ratio) else f"{ratio:.2g}"
        parts.append(
            f"{r['rejected_events']} of {r['rejected_known']} rejected patients {words}, "
            f"{r['accepted_events']} of {r['accepted_known']} accepted (risk ratio {rr}, "
            f"exact p = {r['p_value']:.2g})"
        )
    message = (
        "the rejected patients are not like the accepted ones: "
        + "; ".join(parts)
        + ". Estimates from the accepted rows alone may be biased: fix the rejected rows "
        "(see rejects.csv) rather than leave them out."
    )
    warn(message, InformativeExclusionWarning)
    return (message,)
