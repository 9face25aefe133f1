"""Multiple imputation wired through the analyses and the command line (issue 17, part 2).

On a generated cohort with treatment flags, ventilation and the haemoglobin drop removed at
random given severity and era (apply_missingness "mar"): impute_cohort completes the first
episodes; rates, survival_by_group, hazard_ratios and treatment_effect given the imputed set
(or missing="mi") equal a pooling by hand, through dah_outcomes.stats.pooling, of the same
analysis of each completed cohort; complete case warns above its threshold and not below;
the same seed gives the same numbers; the CLI options work and say the method.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.analyses.hazard_ratios import hazard_ratios
from dah_outcomes.analyses.imputed_cohorts import IMPUTABLE_COLUMNS, ImputedCohorts, impute_cohort
from dah_outcomes.analyses.missing_handling import COMPLETE_CASE_THRESHOLD
from dah_outcomes.analyses.outcome_rates import rates
from dah_outcomes.analyses.survival import survival_by_group
from dah_outcomes.analyses.treatment_effects import treatment_effect
from dah_outcomes.cli.main import main
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import UNKNOWN
from dah_outcomes.errors import (
    ArgumentError,
    DahOutcomesWarning,
    ImmortalTimeWarning,
    MissingDataWarning,
)
from dah_outcomes.io.cohort_files import save_cohort
from dah_outcomes.stats.pooling import pool_cox, pool_kaplan_meier, pool_proportions
from dah_outcomes.synthetic.cohorts import generate_cohort
from dah_outcomes.synthetic.missingness import apply_missingness

M = 4
MISSING = ["cyclophosphamide", "plasmapheresis", "mechanical_ventilation", "hemoglobin_drop"]


def _quietly(call, *args, **kwargs):
    """The analysis with the warnings every comparison of generated arms gives (immortal
    time, small arms) silenced: the pooling, not the warnings, is under test here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        return call(*args, **kwargs)


@pytest.fixture(scope="module")
def truth() -> Cohort:
    return generate_cohort("seed-article", n_sle=8000, seed=3)


@pytest.fixture(scope="module")
def amputed(truth: Cohort) -> Cohort:
    return apply_missingness(truth, "mar", columns=MISSING, fraction=0.25, seed=5).cohort


@pytest.fixture(scope="module")
def imputed(amputed: Cohort) -> ImputedCohorts:
    return impute_cohort(amputed, m=M, iterations=3, seed=11)


def _index(cohort: Cohort) -> pd.DataFrame:
    e = cohort.episodes
    return e[e["episode_number"] == 1].reset_index(drop=True)


# ------------------------------------------------------------------------ impute_cohort


def test_impute_cohort_completes_the_first_episodes(amputed: Cohort, imputed) -> None:
    before = _index(amputed)
    assert len(imputed) == M
    assert len(imputed.cohorts) == M
    assert set(imputed.columns) == set(MISSING)
    assert set(imputed.columns) <= set(IMPUTABLE_COLUMNS)
    for c in imputed.columns:
        missing = before[c].isna()
        deduced = imputed.n_deduced.get(c, 0)
        assert imputed.n_imputed[c] + deduced == missing.sum()
    for cohort in imputed.cohorts:
        after = _index(cohort)
        assert not after[list(imputed.columns)].isna().any().any()
        for c in imputed.columns:
            seen = before[c].notna().to_numpy()
            # observed values are never changed
            assert (after.loc[seen, c].to_numpy() == before.loc[seen, c].to_numpy()).all()
        # the arms are re-derived from the imputed flags: no patient's arm is unknown (a
        # later episode's, from its own flags, which are not imputed, may be)
        table = _quietly(rates, cohort, "arm").table
        assert UNKNOWN not in set(table.loc[table["unit"] == "dah_patients", "group"])
    # the imputations differ from one another
    a, b = (_index(c)["cyclophosphamide"].to_numpy() for c in imputed.cohorts[:2])
    assert (a != b).any()
    assert imputed.to_dict()["m"] == M
    assert set(imputed.to_frame()["column"]) == set(MISSING)


def test_flags_imputed_true_get_a_course_within_the_admission(amputed, imputed) -> None:
    drawn = imputed.n_courses_drawn
    assert drawn.get("cyclophosphamide", 0) > 0
    cohort = imputed.cohorts[0]
    extra = len(cohort.treatments) - len(amputed.treatments)
    assert extra == sum(
        (_index(cohort)[c] & _index(amputed)[c].isna()).sum()
        for c in ("cyclophosphamide", "plasmapheresis")
        if amputed.treatments["treatment"].eq(c).any()
    )


def test_same_seed_same_imputations_other_seed_others(amputed: Cohort, imputed) -> None:
    again = impute_cohort(amputed, m=M, iterations=3, seed=11)
    assert [c.fingerprint for c in again] == [c.fingerprint for c in imputed]
    other = impute_cohort(amputed, m=2, iterations=3, seed=12)
    assert other.cohorts[0].fingerprint != imputed.cohorts[0].fingerprint


def test_impute_cohort_refuses_nothing_to_impute_and_bad_columns(truth: Cohort) -> None:
    with pytest.raises(ArgumentError, match="no missing value"):
        impute_cohort(truth, m=2)
    with pytest.raises(ArgumentError, match="cannot be imputed"):
        impute_cohort(truth, m=2, columns=["onset_date"])


# ------------------------------------------------------- pooled equals pooled by hand


def test_rates_mi_equal_proportions_pooled_by_hand(imputed) -> None:
    pooled = _quietly(rates, imputed, "arm")
    each = [_quietly(rates, c, "arm") for c in imputed.cohorts]
    for endpoint, group in [("mortality", "MP+CYC+PLEX"), ("mechanical_ventilation", "overall")]:
        rows = [r.get(endpoint, group) for r in each]
        hand = pool_proportions([r.events for r in rows], [r.total for r in rows])
        got = pooled.table.set_index(["endpoint", "group"]).loc[(endpoint, group)]
        assert got["estimate"] == hand.value[0]
        assert (got["ci_lower"], got["ci_upper"]) == (
            hand.value_ci_lower[0],
            hand.value_ci_upper[0],
        )
        assert got["fmi"] == hand.fmi[0] > 0
    # a rate no imputation changes keeps its complete-data interval, with no missing info
    mortality = pooled.table.set_index(["endpoint", "group"]).loc[("mortality", "overall")]
    assert mortality["fmi"] == 0
    assert mortality["ci_lower"] == each[0].get("mortality").ci_lower
    record = pooled.to_dict()["missing_data"]
    assert record["method"] == "mi"
    assert record["imputations"] == M
    assert set(record["columns_imputed"]) == set(MISSING)
    table = pooled.table.set_index(["endpoint", "group"])
    assert record["fmi"]["mortality, MP+CYC+PLEX"] == table.loc[("mortality", "MP+CYC+PLEX"), "fmi"]


def test_survival_mi_equal_kaplan_meier_pooled_by_hand(imputed) -> None:
    pooled = _quietly(survival_by_group, imputed, "arm", times=(30, 365))
    fits = [_quietly(survival_by_group, c, "arm", times=(30, 365)).km for c in imputed.cohorts]
    hand = pool_kaplan_meier(fits, [30, 365])
    by_term = dict(zip(hand.terms, hand.value, strict=True))
    lower = dict(zip(hand.terms, hand.value_ci_lower, strict=True))
    for r in pooled.at_times.itertuples():
        term = f"{r.group}, t={r.time:g}"
        if r.fmi > 0:
            assert r.survival == by_term[term]
            assert r.ci_lower == lower[term]
    assert pooled.logrank is None
    assert pooled.to_dict()["missing_data"]["imputations"] == M
    assert any("no log-rank test" in w for w in pooled.warnings)
    medians = pooled.medians.set_index("group")
    assert (medians["ci_lower"].fillna(0) <= medians["time"].fillna(np.inf)).all()


def test_hazard_ratios_mi_equal_cox_pooled_by_hand(imputed) -> None:
    pooled = _quietly(hazard_ratios, imputed, by="arm")
    hand = pool_cox([_quietly(hazard_ratios, c, by="arm").cox for c in imputed.cohorts])
    assert list(pooled.table["hazard_ratio"]) == list(hand.value)
    assert list(pooled.table["ci_upper"]) == list(hand.value_ci_upper)
    assert list(pooled.table["fmi"]) == list(hand.fmi)
    assert pooled.to_dict()["missing_data"]["fmi"] == dict(
        zip(hand.terms, (float(f) for f in hand.fmi), strict=True)
    )
    assert "imputed by chained equations (4 imputations)" in pooled.methods_text()


@pytest.mark.parametrize("method", ["naive", "time-varying"])
def test_treatment_effect_mi_equal_cox_pooled_by_hand(imputed, method: str) -> None:
    pooled = _quietly(treatment_effect, imputed, "cyclophosphamide", method=method)
    fits = [
        _quietly(treatment_effect, c, "cyclophosphamide", method=method).cox
        for c in imputed.cohorts
    ]
    hand = pool_cox(fits)
    assert pooled.hazard_ratio == hand.value[0]
    assert (pooled.ci_lower, pooled.ci_upper) == (hand.value_ci_lower[0], hand.value_ci_upper[0])
    assert pooled.p_value == hand.p_value[0]
    assert pooled.to_dict()["missing_data"]["fmi"]["treated"] == hand.fmi[0]


def test_missing_mi_imputes_with_the_seed_given(amputed: Cohort, imputed) -> None:
    direct = _quietly(hazard_ratios, amputed, missing="mi", imputations=M, seed=11)
    given = _quietly(hazard_ratios, imputed)
    # impute_cohort's default iterations (10) differ from the fixture's 3: same m and seed,
    # other chains; the same call twice gives the same numbers
    again = _quietly(hazard_ratios, amputed, missing="mi", imputations=M, seed=11)
    assert list(direct.table["hazard_ratio"]) == list(again.table["hazard_ratio"])
    assert direct.missing_data["seed"] == 11
    assert direct.missing_data["imputations"] == M
    assert given.missing_data["iterations"] == 3


# ---------------------------------------------------------------- complete case


def test_complete_case_warns_above_the_threshold(amputed: Cohort) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImmortalTimeWarning)
        with pytest.warns(MissingDataWarning, match=r"missing='mi'.*|--missing mi") as caught:
            result = rates(amputed, "arm")
    message = next(str(w.message) for w in caught if w.category is MissingDataWarning)
    assert "arm is unknown" in message
    assert "--missing mi" in message
    record = result.missing_data
    assert record["method"] == "complete-case"
    assert record["fraction_incomplete"] > COMPLETE_CASE_THRESHOLD
    assert record["n_unknown_arm"] > 0
    assert record["columns"]["mechanical_ventilation"] > 0
    assert message in result.warnings
    # the Unknown arm is reported as before
    assert UNKNOWN in set(result.table["group"])


def test_complete_case_silent_below_the_threshold(truth: Cohort) -> None:
    few = apply_missingness(
        truth, "mcar", columns=["mechanical_ventilation"], fraction=0.02, seed=1
    ).cohort
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingDataWarning)
        result = rates(few)
    record = result.missing_data
    assert 0 < record["n_incomplete"] <= COMPLETE_CASE_THRESHOLD * record["n_rows"]
    assert not any("complete-case threshold" in w for w in result.warnings)


def test_complete_case_numbers_are_the_analysis_without_missing_argument(amputed) -> None:
    plain = _quietly(hazard_ratios, amputed)
    explicit = _quietly(hazard_ratios, amputed, missing="complete-case")
    pd.testing.assert_frame_equal(plain.table, explicit.table)
    assert "fmi" not in plain.table


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"missing": "listwise"}, "missing must be one of"),
        ({"missing": "mi", "imputations": 1}, "at least 2"),
        ({"missing": "mi", "seed": -1}, "seed"),
    ],
)
def test_bad_missing_arguments(amputed: Cohort, kwargs, match) -> None:
    with pytest.raises(ArgumentError, match=match):
        rates(amputed, **kwargs)


# ---------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def amputed_dir(amputed: Cohort, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mi") / "cohort"
    save_cohort(amputed, out)
    return out


def _run(capsys, argv: list[str]) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        assert main(argv) == 0
    return capsys.readouterr().out


def test_cli_rates_mi_json_states_the_method(amputed_dir: Path, capsys) -> None:
    argv = ["rates", str(amputed_dir), "--by", "arm", "--missing", "mi", "--imputations", "3"]
    out = json.loads(_run(capsys, [*argv, "--seed", "2", "--json"]))
    assert out["missing_data"]["method"] == "mi"
    assert out["missing_data"]["imputations"] == 3
    assert out["missing_data"]["seed"] == 2
    # no patient's arm is unknown (a later episode's own arm may be)
    assert set(out["groups"].get(UNKNOWN, {})) <= {"mortality_per_episode"}
    text = _run(capsys, [*argv, "--seed", "2"])
    assert "multiple imputation by chained equations, 3 imputations (seed 2)" in text


def test_cli_complete_case_text_says_how_many_are_incomplete(amputed_dir: Path, capsys) -> None:
    text = _run(capsys, ["rates", str(amputed_dir), "--by", "arm"])
    assert "missing data: complete case" in text
    assert "with an unknown arm" in text


def test_cli_survival_and_treatment_effect_mi(amputed_dir: Path, capsys) -> None:
    mi = ["--missing", "mi", "--imputations", "2"]
    out = json.loads(_run(capsys, ["survival", str(amputed_dir), *mi, "--json"]))
    assert out["missing_data"]["method"] == "mi"
    assert out["logrank"] is None
    text = _run(capsys, ["survival", str(amputed_dir), *mi])
    assert "2 imputations" in text
    te = ["treatment-effect", str(amputed_dir), "--treatment", "cyclophosphamide", *mi]
    out = json.loads(_run(capsys, [*te, "--method", "naive", "--json"]))
    assert out["missing_data"]["imputations"] == 2
    assert "multiple imputation" in _run(capsys, [*te, "--method", "naive"])


def test_cli_recurrence_refuses_mi(amputed_dir: Path, capsys) -> None:
    argv = ["survival", str(amputed_dir), "--endpoint", "recurrence", "--missing", "mi"]
    assert main(argv) == 1
    assert "--missing mi goes with --endpoint death" in capsys.readouterr().err


# ------------------------------------------------------------------- parity with R


def test_cox_pooling_of_completed_cohorts_matches_mice_pool() -> None:
    """The frames hazard_ratios fits by era in 5 completed cohorts (written by
    tests/reference/write_mi_cohort_frames.py), our Cox fits pooled by pool_cox, against
    mice::pool of coxph on the same frames (make_mi_cohort_cox_reference.R)."""
    from dah_outcomes.stats.cox import cox_regression

    folder = Path(__file__).parent / "reference"
    ref = json.loads((folder / "mi_cohort_cox.json").read_text())
    long = pd.read_csv(folder / "mi_cohort_frames.csv")
    long["era"] = pd.Categorical(long["era"], categories=["historical", "modern"])
    covariates = ["era", "severe", "infection", "mechanical_ventilation"]
    fits = [
        cox_regression(part, time="time", event="event", covariates=covariates)
        for _, part in long.groupby("imp", sort=True)
    ]
    assert list(fits[0].terms) == ref["terms"]
    for fit, estimates in zip(fits, ref["estimates"], strict=True):
        np.testing.assert_allclose(fit.coef, estimates, rtol=1e-8)
    pooled = pool_cox(fits)
    want = ref["pooled"]
    for ours, theirs in [
        (pooled.estimate, "estimate"),
        (pooled.ubar, "ubar"),
        (pooled.b, "b"),
        (pooled.t, "t"),
        (pooled.dfcom, "dfcom"),
        (pooled.df, "df"),
        (pooled.riv, "riv"),
        (pooled.lambda_, "lambda"),
        (pooled.fmi, "fmi"),
    ]:
        np.testing.assert_allclose(ours, want[theirs], rtol=1e-7, err_msg=theirs)
