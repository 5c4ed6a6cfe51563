"""The job's scripts ship alone (pyspark and the standard library only), so each carries
its own copy of SUSY's column names: they must stay equal to the package's."""

from __future__ import annotations

from sparksweep import data
from sparksweep.job import kmeans, prepare


def test_every_copy_of_the_susy_columns_agrees() -> None:
    assert prepare.SUSY_COLUMNS == data.SUSY_COLUMNS
    assert kmeans.SUSY_COLUMNS == data.SUSY_COLUMNS
    assert kmeans.FEATURE_COLUMNS == data.FEATURE_COLUMNS == data.SUSY_COLUMNS[1:]
