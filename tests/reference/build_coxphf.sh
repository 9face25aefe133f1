#!/bin/sh
# Build R's coxphf (Heinze & Ploner; not packaged in Debian) from its public CRAN source into
# a private library, for make_firth_cox_reference.R. The source is the CRAN mirror on GitHub
# (github.com/cran/coxphf; 1.13.4 when the reference was made); it needs gfortran and the
# R packages survival, generics and tibble.
#
#   sh tests/reference/build_coxphf.sh [LIB]     (LIB defaults to /tmp/rlib)
#   R_LIBS=/tmp/rlib Rscript tests/reference/make_firth_cox_reference.R tests/reference
set -eu
lib="${1:-/tmp/rlib}"
src="$(mktemp -d)"
git clone --depth 1 https://github.com/cran/coxphf "$src/coxphf"
mkdir -p "$lib"
R CMD INSTALL -l "$lib" "$src/coxphf"
Rscript -e "library(coxphf, lib.loc = '$lib'); cat('coxphf', format(packageVersion('coxphf', lib.loc = '$lib')), '\n')"
