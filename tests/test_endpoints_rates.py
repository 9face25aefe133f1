"""Endpoints, arms and rates on a hand-made cohort whose answers are known by counting."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest

from dah_outcomes import (
    DEFAULT_ARMS,
    ArgumentError,
    Cohort,
    incidence_frame,
    patient_outcomes,
    proportion_ci,
    rates,
)
from dah_outcomes.endpoints.arms import Arm, ArmDefinition, EraDefinition, assign_arms, assign_eras
from dah_outcomes.errors import ImmortalTimeWarning, MissingColumnWarning


def immortal_time(by: str | None = "arm"):
    """Expect the warning of a comparison by arm: the hand-made cohort's treatment flags have
    no start dates (timing unknown)."""
    if by != "arm":
        return contextlib.nullcontext()
    return pytest.warns(ImmortalTimeWarning, match="outcome rates by arm: .*immortal-time bias")


def test_default_arms_follow_their_order() -> None:
    flags = pd.DataFrame(
        {
            "methylprednisolone_pulse": [True, True, True, False, True, None],
            "cyclophosphamide": [True, True, False, False, False, True],
            "plasmapheresis": [True, False, False, False, False, True],
            "rituximab": [True, False, True, False, False, False],
            "oral_prednisone": [False, False, False, False, False, False],
        }
    ).astype("boolean")
    arms = assign_arms(flags).tolist()
    # rituximab with the triple regimen stays in the triple arm (first rule wins);
    # a missing flag before any match makes the arm unknown, not a later arm
    assert arms == [
        "MP+CYC+PLEX",
        "MP+CYC",
        "Rituximab",
        "Other",
        "Steroids without CYC",
        "Unknown",
    ]


def test_an_absent_flag_column_is_unknown_rule_by_rule() -> None:
    flags = pd.DataFrame(
        {
            "methylprednisolone_pulse": [True, True, False, False, True],
            "cyclophosphamide": [True, True, False, False, False],
            "plasmapheresis": [True, False, False, False, False],
            "rituximab": [False, False, True, False, False],
        }
    ).astype("boolean")
    # without oral_prednisone: rules 1-3 still decide; rule 4 reads it with "any of", so MP
    # pulses alone decide it; only an episode whose arm depends on the absent flag is unknown
    assert assign_arms(flags).tolist() == [
        "MP+CYC+PLEX",
        "MP+CYC",
        "Rituximab",
        "Unknown",
        "Steroids without CYC",
    ]
    blank = flags.assign(oral_prednisone=pd.array([pd.NA] * 5, dtype="boolean"))
    assert assign_arms(flags).tolist() == assign_arms(blank).tolist()


def test_rates_by_arm_warn_of_an_absent_flag_column(small_tables) -> None:
    patients, episodes = small_tables
    with immortal_time():
        full = rates(Cohort(patients, episodes), by="arm")
    without = Cohort(patients, episodes.drop(columns=["oral_prednisone"]))
    with immortal_time(), pytest.warns(MissingColumnWarning, match="no oral_prednisone column"):
        result = rates(without, by="arm")
    assert any("oral_prednisone" in w for w in result.warnings)
    # an arm decided without the absent flag keeps every patient it had
    keep = ["MP+CYC+PLEX", "MP+CYC"]
    a = full.to_frame()
    a = a[a["group"].isin(keep)]
    b = result.to_frame()
    b = b[b["group"].isin(keep)]
    assert a[["endpoint", "group", "events", "total"]].equals(
        b[["endpoint", "group", "events", "total"]]
    )


def test_no_absent_flag_warning_when_every_column_is_there(small_tables) -> None:
    import warnings

    with immortal_time(), warnings.catch_warnings():
        warnings.simplefilter("error", MissingColumnWarning)
        rates(Cohort(*small_tables), by="arm")


def test_arm_definition_checks_names() -> None:
    with pytest.raises(ArgumentError, match="unique"):
        ArmDefinition(arms=(Arm("A", all_of=("rituximab",)), Arm("A")))


def test_eras_by_onset() -> None:
    onset = pd.Series(pd.to_datetime(["1999-12-31", "2000-01-01", None]))
    assert assign_eras(onset).tolist() == ["historical", "modern", "Unknown"]
    three = EraDefinition(
        boundaries=("1990-01-01", "2010-01-01"), labels=("early", "middle", "late")
    )
    assert assign_eras(onset, three).tolist() == ["middle", "middle", "Unknown"]


def test_patient_outcomes(small_tables) -> None:
    out = patient_outcomes(Cohort(*small_tables)).set_index("patient_id")
    assert out.loc["P1", "recurrence"]
    assert out.loc["P1", "n_episodes"] == 2
    assert out.loc["P2", "died"]
    assert not out.loc["P1", "died"]
    assert out["arm"].to_dict() == {
        "P1": "MP+CYC+PLEX",
        "P2": "MP+CYC",
        "P3": "Steroids without CYC",
    }
    assert out["era"].to_dict() == {"P1": "modern", "P2": "modern", "P3": "historical"}


def test_death_within_days(small_tables) -> None:
    cohort = Cohort(*small_tables)
    out = patient_outcomes(cohort, death_within_days=30).set_index("patient_id")
    assert out.loc["P2", "died"]
    assert not out.loc["P1", "died"]
    with pytest.raises(ArgumentError, match="death_within_days"):
        patient_outcomes(cohort, death_within_days=0)


def test_incidence_frame_person_time(small_tables) -> None:
    inc = incidence_frame(Cohort(*small_tables)).set_index("patient_id")
    assert inc["dah"].sum() == 3
    assert inc.loc["P1", "person_years"] == 0.0  # DAH at SLE diagnosis
    assert inc["at_entry"].to_dict() == {
        "P1": True,
        "P2": False,
        "P3": False,
        "P4": False,
        "P5": False,
    }
    assert inc.loc["P4", "person_years"] == pytest.approx(3652 / 365.25)


def test_rates_count_and_match_proportion_ci(small_tables) -> None:
    result = rates(Cohort(*small_tables), ci_method="clopper-pearson")
    t = result.to_frame().set_index("endpoint")
    expected = {
        "incidence": (3, 5),
        "first_manifestation": (1, 3),
        "mechanical_ventilation": (2, 3),
        "plasmapheresis": (1, 3),
        "nephritis": (2, 3),
        "recurrence": (1, 3),
        "mortality": (1, 3),
        "mortality_per_episode": (1, 4),  # four episodes, P1's two among them
    }
    assert list(t.index) == list(expected)
    for name, (k, n) in expected.items():
        assert (t.loc[name, "events"], t.loc[name, "total"]) == (k, n), name
        ref = proportion_ci(k, n, ci_method="clopper-pearson")
        assert t.loc[name, "ci_lower"] == ref.ci_lower
        assert t.loc[name, "ci_upper"] == ref.ci_upper
    # P1's DAH was at SLE diagnosis, the start of follow-up: never at risk, so no incident
    # case; the person-time of the others runs to their first onset (or end of follow-up)
    assert result.incidence_cases_at_entry == 1
    rate = result.incidence_rate
    assert rate is not None
    assert rate.events == 2
    days = (790 + 517) + 3652 + 730  # P2, P3 to onset; P4, P5 without DAH
    assert rate.person_time == pytest.approx(days / 365.25)
    assert rate.estimate == pytest.approx(2 / (days / 365.25) * 1000)
    assert "not counted as incident cases" in result.definitions["incidence_rate"]


def test_recurrence_endpoints_by_hand(small_tables) -> None:
    from dah_outcomes.stats.proportions import rate_ci

    result = rates(Cohort(*small_tables))
    cif = result.recurrence_cif.set_index("years")
    # P2 dies on day 9 (competing: 2 of 3 left event-free), P1 recurs on day 1,581 with P1
    # and P3 at risk: CIF = 2/3 * 1/2; nothing before
    assert cif["cif"].to_dict() == pytest.approx({1: 0.0, 2: 0.0, 5: 1 / 3})
    assert cif.loc[5, "ci_lower"] < 1 / 3 < cif.loc[5, "ci_upper"]
    assert tuple(cif.loc[5, ["n", "recurrences", "deaths_before_recurrence"]]) == (3, 1, 1)
    r = result.recurrence_rates.set_index("group").loc["overall"]
    years = (3652 + 9 + 3136) / 365.25  # first onset to the end of follow-up
    ref = rate_ci(1, years, per=100)
    assert (r["events"], r["person_years"]) == (1, pytest.approx(years))
    assert (r["estimate"], r["ci_lower"], r["ci_upper"]) == pytest.approx(
        (ref.estimate, ref.ci_lower, ref.ci_upper), rel=1e-12
    )
    d = result.to_dict()
    assert d["recurrence_cumulative_incidence"]["overall"]["5"]["cif"] == pytest.approx(1 / 3)
    assert d["recurrence_rate_per_100_person_years"]["overall"]["events"] == 1
    assert d["incidence_cases_at_entry"] == 1
    # the crude proportion stays beside them
    assert d["rates"]["recurrence"]["events"] == 1


def test_mortality_per_episode_groups_each_episode_by_its_own_arm(small_tables) -> None:
    with immortal_time():
        t = rates(Cohort(*small_tables), by="arm").to_frame()
    per_episode = t[t["endpoint"] == "mortality_per_episode"].set_index("group")
    # P1's two episodes are MP+CYC+PLEX; P2's (died) MP+CYC; P3's steroids
    assert per_episode[["events", "total"]].to_dict("index") == {
        "overall": {"events": 1, "total": 4},
        "MP+CYC+PLEX": {"events": 0, "total": 2},
        "MP+CYC": {"events": 1, "total": 1},
        "Steroids without CYC": {"events": 0, "total": 1},
    }
    assert set(per_episode["unit"]) == {"episodes"}


def _cohort_from(df: pd.DataFrame) -> Cohort:
    """DAH patients with their first onset in 1995 (historical) or 2005 (modern), followed
    ``time`` days to a recurrence (then 30 days more), a death or censoring."""
    day = pd.to_timedelta(df["time"], unit="D")
    onset = pd.to_datetime(np.where(df["era"] == "historical", "1995-01-01", "2005-01-01"))
    recurs, dies = df["event"] == 1, df["event"] == 2
    end = onset + day + pd.to_timedelta(np.where(recurs, 30, 0), unit="D")
    patients = pd.DataFrame(
        {
            "patient_id": df["id"],
            "sex": "F",
            "followup_start": onset - pd.Timedelta(days=1000),
            "followup_end": end,
            "death_date": (onset + day).where(dies),
        }
    )
    first = pd.DataFrame(
        {
            "patient_id": df["id"],
            "episode_number": 1,
            "onset_date": onset,
            "discharge_date": onset,
            "in_hospital_death": dies & (df["time"] == 0),
        }
    )
    second = pd.DataFrame(
        {
            "patient_id": df["id"][recurs],
            "episode_number": 2,
            "onset_date": (onset + day)[recurs],
            "discharge_date": (onset + day)[recurs] + pd.Timedelta(days=5),
            "in_hospital_death": False,
        }
    )
    return Cohort(patients, pd.concat([first, second], ignore_index=True), design="case_series")


def test_recurrence_cif_and_rate_match_r() -> None:
    """Against R's cmprsk::cuminc and poisson.test (tests/reference/make_recurrence_reference.R)."""
    import json
    from pathlib import Path

    ref_dir = Path(__file__).parent / "reference"
    df = pd.read_csv(ref_dir / "dah_recurrence.csv")
    ref = json.loads((ref_dir / "dah_recurrence.json").read_text())
    result = rates(_cohort_from(df), by="era")
    assert result.warnings == ()
    cif = result.recurrence_cif
    for group, expected in ref["cif"].items():
        ours = cif[cif["group"] == group]
        assert list(ours["years"]) == expected["years"], group
        for column in ("cif", "variance", "ci_lower", "ci_upper"):
            np.testing.assert_allclose(ours[column], expected[column], rtol=1e-9, err_msg=group)
    r = result.recurrence_rates.set_index("group").loc["overall"]
    expected = ref["recurrence_rate"]
    assert r["events"] == expected["events"]
    for column in ("person_years", "estimate", "ci_lower", "ci_upper"):
        assert r[column] == pytest.approx(expected[column], rel=1e-9), column


def test_rates_by_arm_json_shape(small_tables) -> None:
    with immortal_time():
        d = rates(Cohort(*small_tables), by="arm").to_dict()
    assert set(d["rates"]) == {
        "incidence",
        "first_manifestation",
        "mechanical_ventilation",
        "plasmapheresis",
        "nephritis",
        "recurrence",
        "mortality",
        "mortality_per_episode",
    }
    assert list(d["groups"]) == ["MP+CYC+PLEX", "MP+CYC", "Steroids without CYC"]
    assert len(d["warnings"]) == 1
    row = d["groups"]["MP+CYC"]["mortality"]
    assert set(row) == {
        "events",
        "total",
        "estimate",
        "ci_lower",
        "ci_upper",
        "method",
        "conf_level",
    }
    assert row["events"] == 1
    assert row["total"] == 1


def test_missing_flags_leave_the_denominator(small_tables) -> None:
    p, e = small_tables
    e = e.assign(plasmapheresis=[True, None, False, True])
    t = rates(Cohort(p, e), arms=DEFAULT_ARMS).to_frame().set_index("endpoint")
    assert (t.loc["plasmapheresis", "total"], t.loc["plasmapheresis", "n_missing"]) == (2, 1)


def test_case_series_has_no_incidence(small_tables) -> None:
    p, e = small_tables
    cohort = Cohort(p[p["patient_id"].isin(["P1", "P2", "P3"])], e)
    result = rates(cohort)
    assert "incidence" not in set(result.table["endpoint"])
    assert result.incidence_rate is None
    # and says why, in the result and its JSON
    assert result.definitions["incidence"].startswith("not reported: the cohort is a case series")
    assert "case series" in result.to_dict()["definitions"]["incidence"]
    with pytest.raises(ArgumentError, match="source population"):
        incidence_frame(cohort)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"by": "colour"}, "by must be one of"), ({"ci_method": "exact"}, "ci_method")],
)
def test_rates_argument_errors(small_tables, kwargs, fragment) -> None:
    with pytest.raises(ArgumentError, match=fragment):
        rates(Cohort(*small_tables), **kwargs)


def test_time_to_event_frames(small_tables) -> None:
    from dah_outcomes.endpoints.frames import (
        death_frame,
        recurrence_frame,
        recurrent_episodes_frame,
    )

    cohort = Cohort(*small_tables)
    d = death_frame(cohort).set_index("patient_id")
    assert d.loc["P2", ["time", "event"]].tolist() == [9.0, 1]
    assert d.loc["P3", ["time", "event"]].tolist() == [3136.0, 0]  # 1996-06-01 to 2005-01-01
    r = recurrence_frame(cohort).set_index("patient_id")
    assert r.loc["P1", ["time", "event"]].tolist() == [1581.0, 1]  # second onset 2009-05-01
    assert r.loc["P2", ["time", "event"]].tolist() == [9.0, 2]  # death competes
    assert r.loc["P3", "event"] == 0
    x = recurrent_episodes_frame(cohort)
    p1 = x[x["patient_id"] == "P1"][["start", "stop", "event"]].to_numpy().tolist()
    assert p1 == [[0.0, 1581.0, 1], [1581.0, 3652.0, 0]]
    assert len(x) == 4
    assert x["event"].sum() == 1


# --------------------------------------------------------------------------------------------
# the one `by` vocabulary


def test_grouping_vocabulary_is_declared_once() -> None:
    import dah_outcomes.endpoints
    from dah_outcomes import BY_CHOICES, GROUPINGS

    assert GROUPINGS is dah_outcomes.endpoints.GROUPINGS
    assert BY_CHOICES == tuple(GROUPINGS) == ("arm", "era", "site", "sex")
    for name, g in GROUPINGS.items():
        assert g.name == name
        assert g.label
        assert g.source
        assert g.order
    assert [g.patients_column for g in GROUPINGS.values()] == [None, None, "site", "sex"]


def test_attach_group_labels_and_orders_each_grouping(small_tables) -> None:
    from dah_outcomes import attach_group

    p, e = small_tables
    # P3 has no site; P2's sex is recorded as "unknown": both are "Unknown", the last group
    p = p.assign(site=["B", "A", None, "B", "A"], sex=["M", "unknown", "F", "F", "F"])
    cohort = Cohort(p, e)
    outcomes = patient_outcomes(cohort)
    before = outcomes.copy()
    arm = attach_group(outcomes, cohort, "arm")["arm"]
    assert list(arm.cat.categories) == ["MP+CYC+PLEX", "MP+CYC", "Steroids without CYC"]
    site = attach_group(outcomes, cohort, "site").set_index("patient_id")["site"]
    assert list(site.cat.categories) == ["A", "B", "Unknown"]
    assert site.astype(str).to_dict() == {"P1": "B", "P2": "A", "P3": "Unknown"}
    sex = attach_group(outcomes, cohort, "sex").set_index("patient_id")["sex"]
    assert list(sex.cat.categories) == ["F", "M", "Unknown"]
    assert sex.astype(str).to_dict() == {"P1": "M", "P2": "Unknown", "P3": "F"}
    # eras follow their definition (chronological), not the alphabet
    eras = EraDefinition(boundaries=("2000-01-01",), labels=("pre-2000", "2000s"))
    era = attach_group(patient_outcomes(cohort, eras=eras), cohort, "era", eras=eras)["era"]
    assert list(era.cat.categories) == ["pre-2000", "2000s"]
    pd.testing.assert_frame_equal(outcomes, before)  # the caller's frame is not modified


def test_unknown_by_has_one_wording_everywhere(small_tables) -> None:
    from dah_outcomes import attach_group, hazard_ratios, recurrence_by_group, survival_by_group
    from dah_outcomes.analyses import table_one
    from dah_outcomes.report import report

    cohort = Cohort(*small_tables)
    message = "by must be one of ['arm', 'era', 'site', 'sex'], got 'colour'"
    calls = [
        lambda: rates(cohort, by="colour"),
        lambda: survival_by_group(cohort, "colour"),
        lambda: recurrence_by_group(cohort, "colour"),
        lambda: table_one(cohort, "colour"),
        lambda: hazard_ratios(cohort, by="colour"),
        lambda: report(cohort, by="colour"),
        lambda: attach_group(patient_outcomes(cohort), cohort, "colour"),
    ]
    for call in calls:
        with pytest.raises(ArgumentError) as err:
            call()
        assert str(err.value) == message
    with pytest.raises(ArgumentError, match="did you mean 'arm'"):
        rates(cohort, by="arms")


def test_missing_grouping_column_has_one_wording_everywhere(small_tables) -> None:
    from dah_outcomes import hazard_ratios, recurrence_by_group, survival_by_group
    from dah_outcomes.analyses import table_one

    p, e = small_tables
    cohort = Cohort(p.drop(columns="site"), e)
    message = "cannot group by 'site': the cohort's patients table has no 'site' column"
    for call in (
        lambda: rates(cohort, by="site"),
        lambda: survival_by_group(cohort, "site"),
        lambda: recurrence_by_group(cohort, "site"),
        lambda: table_one(cohort, "site"),
        lambda: hazard_ratios(cohort, by="site"),
    ):
        with pytest.raises(ArgumentError, match=message):
            call()


def test_rates_and_table_one_share_the_groups(small_tables) -> None:
    from dah_outcomes.analyses import table_one

    cohort = Cohort(*small_tables)
    for by in ("arm", "era", "site", "sex"):
        with immortal_time(by):
            groups = list(rates(cohort, by=by).to_dict()["groups"])
        assert list(table_one(cohort, by).counts) == groups, by
