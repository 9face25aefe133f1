"""Synthetic DAH-in-SLE cohorts from declared scenarios with known ground truth."""
