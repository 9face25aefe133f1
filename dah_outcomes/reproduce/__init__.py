"""Reproducing reported statistics: claims, consistency checks without data, and verdicts."""
