#!/bin/sh
# Build R's coxphf (Heinze & Ploner; not packaged in Debian) from its public CRAN source into
# a private library, for make_firth_cox_reference.R. The source is the CRAN mirror on GitHub
# (github.com/cran/coxphf; 1.13.4 when the reference was made), cloned here unless SRC names
# a local copy (a source folder, or a bare git directory whose HEAD is archived); it needs
# gfortran and the R packages survival, generics and tibble.
#
#   sh tests/reference/build_coxphf.sh [LIB [SRC]]     (LIB defaults to /tmp/rlib)
#   R_LIBS=/tmp/rlib Rscript tests/reference/make_firth_cox_reference.R tests/reference
set -eu
lib="${1:-/tmp/rlib}"
src="${2:-}"
work="$(mktemp -d)"
if [ -z "$src" ]; then
  git clone --depth 1 https://github.com/cran/coxphf "$work/coxphf"
elif [ -f "$src/DESCRIPTION" ]; then
  cp -R "$src" "$work/coxphf"
else
  mkdir "$work/coxphf"
  git --git-dir="$src" archive HEAD | tar -x -C "$work/coxphf"
fi
mkdir -p "$lib"
R CMD INSTALL -l "$lib" "$work/coxphf"
Rscript -e "cat('coxphf', format(packageVersion('coxphf', lib.loc = '$lib')), '\n')"
