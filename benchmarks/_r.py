"""R's ``coxph`` beside ours: write a data set once to CSV, fit it with ``Rscript`` and read
back the coefficients, SEs and the fit's own time (``proc.time`` around ``coxph`` only, so
R's start-up and ``read.csv`` are not counted). ``available()`` is False where R or its
survival package is not installed (``make r`` installs Debian's)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

_SCRIPT = r"""
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
f <- as.formula(args[2])
repeats <- as.integer(args[3])
best <- Inf
for (i in seq_len(repeats)) {
  gc()
  t0 <- proc.time()[["elapsed"]]
  fit <- if (nchar(args[4])) coxph(f, data = d, ties = "efron", cluster = id) else
    coxph(f, data = d, ties = "efron")
  best <- min(best, proc.time()[["elapsed"]] - t0)
}
cat(sprintf("%.17g", coef(fit)), sep = "\n", file = args[5])
cat(sprintf("%.17g", sqrt(diag(vcov(fit)))), sep = "\n", file = args[5], append = TRUE)
cat(sprintf("%.17g", best), "\n", file = args[5], append = TRUE)
"""


def available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    done = subprocess.run(["Rscript", "-e", "library(survival)"], capture_output=True, check=False)
    return done.returncode == 0


def version() -> str:
    out = subprocess.run(
        [
            "Rscript",
            "-e",
            'cat(R.version.string, "; survival", format(packageVersion("survival")))',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def coxph(
    df: pd.DataFrame, formula: str, *, cluster: bool = False, repeats: int = 3
) -> dict[str, object]:
    """Fit ``formula`` with R's coxph (Efron; ``cluster = id`` when ``cluster``): the best
    of ``repeats`` fit times in seconds, the coefficients and the (robust, when clustered)
    SEs."""
    with tempfile.TemporaryDirectory() as tmp:
        csv, script, out = Path(tmp, "d.csv"), Path(tmp, "fit.R"), Path(tmp, "out.txt")
        df.to_csv(csv, index=False, float_format="%.17g")
        script.write_text(_SCRIPT)
        subprocess.run(
            [
                "Rscript",
                str(script),
                str(csv),
                formula,
                str(repeats),
                "1" if cluster else "",
                str(out),
            ],
            check=True,
        )
        vals = np.array([float(v) for v in out.read_text().split()])
    p = (len(vals) - 1) // 2
    return {"seconds": float(vals[-1]), "coef": vals[:p], "se": vals[p : 2 * p]}


if __name__ == "__main__":
    print(json.dumps({"available": available()}))
