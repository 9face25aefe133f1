"""Benchmark: impute_cohort on a generated cohort of about 10,000 DAH patients (the
seed-article scenario at ``--n-sle``), MAR removal of the default columns (three treatment
flags, ventilation, haemoglobin drop) at 20%; m = 20 imputations of 10 iterations, timed
once (chained equations, course draws and the validation of the 20 completed cohorts).

Run: ``python benchmarks/bench_impute_cohort.py [--n-sle 186000] [--m 20]``
"""

from __future__ import annotations

import argparse
import json
import time

from dah_outcomes.analyses.imputed_cohorts import impute_cohort
from dah_outcomes.synthetic.cohorts import generate_cohort
from dah_outcomes.synthetic.missingness import apply_missingness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-sle", type=int, default=186_000)
    parser.add_argument("--m", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cohort = generate_cohort("seed-article", n_sle=args.n_sle, seed=args.seed)
    amputed = apply_missingness(cohort, "mar", fraction=0.2, seed=args.seed).cohort
    start = time.perf_counter()
    imputed = impute_cohort(amputed, m=args.m, seed=args.seed)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "dah_patients": amputed.n_dah_patients,
                "m": imputed.m,
                "iterations": imputed.iterations,
                "columns": list(imputed.columns),
                "n_imputed": dict(imputed.n_imputed),
                "seconds": round(seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
