"""SUSY-shaped data: its columns, a synthetic generator (generator.py, whose model is the data
file susy_model.json), a streaming validator (checker.py) and the download of the real set
(fetch.py).

Only numpy and the standard library: the generator runs on the controller, where pyspark may
not be installed.
"""

from sparksweep.data.checker import validate_csv
from sparksweep.data.columns import FEATURE_COLUMNS, SUSY_COLUMNS
from sparksweep.data.generator import (
    generate,
    generate_parquet,
    synthetic_fingerprint,
    synthetic_name,
)

__all__ = [
    "FEATURE_COLUMNS",
    "SUSY_COLUMNS",
    "generate",
    "generate_parquet",
    "synthetic_fingerprint",
    "synthetic_name",
    "validate_csv",
]
