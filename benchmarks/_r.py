"""R's ``coxph`` beside ours: write a data set once to CSV, load it into one ``Rscript``
process and fit it there on demand, so that R's fits can be interleaved with ours (the
machine's load then falls on both alike). Each fit's time is R's own (``proc.time`` around
``coxph`` only: R's start-up and ``read.csv`` are not counted). ``available()`` is False where
R or its survival package is not installed (``make r`` installs Debian's)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

# reads commands from stdin: "fit" fits and prints the seconds; "quit" prints the
# coefficients and (robust, when clustered) SEs of the last fit and ends
_SCRIPT = r"""
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
f <- as.formula(args[2])
clustered <- nchar(args[3]) > 0
con <- file("stdin", "r")
cat("ready\n"); flush(stdout())
fit <- NULL
repeat {
  cmd <- readLines(con, n = 1)
  if (!length(cmd) || cmd == "quit") break
  gc()
  t0 <- proc.time()[["elapsed"]]
  fit <- if (clustered) coxph(f, data = d, ties = "efron", cluster = id) else
    coxph(f, data = d, ties = "efron")
  cat(sprintf("%.6f\n", proc.time()[["elapsed"]] - t0)); flush(stdout())
}
cat(sprintf("%.17g", c(coef(fit), sqrt(diag(vcov(fit))))), sep = "\n")
cat("\n"); flush(stdout())
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


class Session:
    """One R process holding one data set: ``fit()`` fits it once and returns R's time for
    the fit in seconds; ``close()`` returns the last fit's coefficients and SEs."""

    def __init__(self, df: pd.DataFrame, formula: str, *, cluster: bool = False) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        csv, script = Path(self._tmp.name, "d.csv"), Path(self._tmp.name, "fit.R")
        df.to_csv(csv, index=False, float_format="%.17g")
        script.write_text(_SCRIPT)
        self._proc = subprocess.Popen(
            ["Rscript", str(script), str(csv), formula, "1" if cluster else ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self._readline() != "ready":
            raise RuntimeError("R did not start")

    def _readline(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"R ended (exit code {self._proc.wait()})")
        return line.strip()

    def _send(self, command: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()

    def fit(self) -> float:
        self._send("fit")
        return float(self._readline())

    def close(self) -> tuple[np.ndarray, np.ndarray]:
        self._send("quit")
        assert self._proc.stdout is not None
        vals = np.array([float(v) for v in self._proc.stdout.read().split()])
        self._proc.wait()
        self._tmp.cleanup()
        p = len(vals) // 2
        return vals[:p], vals[p:]


def coxph(
    df: pd.DataFrame, formula: str, *, cluster: bool = False, repeats: int = 3
) -> dict[str, object]:
    """Fit ``formula`` with R's coxph (Efron; ``cluster = id`` when ``cluster``) ``repeats``
    times in one R process: the best fit time in seconds, the coefficients and the (robust,
    when clustered) SEs."""
    session = Session(df, formula, cluster=cluster)
    best = min(session.fit() for _ in range(repeats))
    coef, se = session.close()
    return {"seconds": best, "coef": coef, "se": se}


if __name__ == "__main__":
    print(json.dumps({"available": available()}))
