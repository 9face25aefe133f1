"""Statistics that know nothing about DAH: they take counts or DataFrames with named columns."""
