"""SUSY's columns: the job's own list (sparksweep/job/susy.py), the one home of it."""

from sparksweep.job.susy import FEATURE_COLUMNS, SUSY_COLUMNS

__all__ = ["FEATURE_COLUMNS", "SUSY_COLUMNS"]
