"""Write the analysis frames of a multiply imputed DAH cohort for make_mi_cohort_cox_reference.R.

A generated seed-article cohort (3,000 SLE patients, seed 7) with the cyclophosphamide,
plasmapheresis and ventilation flags and the haemoglobin drop removed at random given
severity and era (apply_missingness "mar", 25%, seed 8), imputed by impute_cohort (m = 5,
5 iterations, seed 9). Per completed cohort, the frame hazard_ratios fits by era: time
from first onset to death, the event, the era and the default adjustment covariates
(severe, infection, mechanical ventilation), long format with the imputation number.

    .venv/bin/python tests/reference/write_mi_cohort_frames.py tests/reference
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd

from dah_outcomes.analyses.adjustment import adjustment_covariates
from dah_outcomes.analyses.imputed_cohorts import impute_cohort
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.endpoints.grouping import attach_group
from dah_outcomes.synthetic.cohorts import generate_cohort
from dah_outcomes.synthetic.missingness import apply_missingness

COVARIATES = ("severe", "infection", "mechanical_ventilation")


def main(out: Path) -> None:
    truth = generate_cohort("seed-article", n_sle=3000, seed=7)
    columns = ["cyclophosphamide", "plasmapheresis", "mechanical_ventilation", "hemoglobin_drop"]
    amputed = apply_missingness(truth, "mar", columns=columns, fraction=0.25, seed=8).cohort
    imputed = impute_cohort(amputed, m=5, iterations=5, seed=9)
    frames = []
    for i, cohort in enumerate(imputed.cohorts, start=1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = attach_group(death_frame(cohort), cohort, "era")
            frame, used, _ = adjustment_covariates(frame, cohort, COVARIATES, by="era")
        assert used == list(COVARIATES), used
        frames.append(
            pd.DataFrame(
                {
                    "imp": i,
                    "time": frame["time"].astype(int),
                    "event": frame["event"].astype(int),
                    "era": frame["era"].astype(str),
                    **{c: frame[c].astype(int) for c in COVARIATES},
                }
            )
        )
    pd.concat(frames, ignore_index=True).to_csv(out / "mi_cohort_frames.csv", index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
