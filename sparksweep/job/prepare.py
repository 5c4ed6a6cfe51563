"""Convert a SUSY CSV to Parquet once per content fingerprint.

    spark-submit prepare.py --csv FILE --out-dir DATA_DIR/parquet --fingerprint sha256:HEX

writes <out-dir>/<HEX>/ and prints that path as the last line of stdout. A folder that
already exists is the same content converted before, so it is left alone; a changed CSV has
a new fingerprint and gets its own folder. It runs from the job's folder, beside kmeans.py,
and imports only pyspark, the standard library and susy.py.
"""

import argparse
import os
import re
import shutil
import sys

from pyspark.sql import SparkSession
from pyspark.sql.types import DoubleType, StructField, StructType

try:
    from sparksweep.job.susy import SUSY_COLUMNS
except ImportError:
    # spark-submit runs this file from /workspace/src, where susy.py sits beside it and
    # there is no sparksweep package.
    from susy import SUSY_COLUMNS  # type: ignore[no-redef]

SUSY_SCHEMA = StructType([StructField(name, DoubleType(), nullable=False) for name in SUSY_COLUMNS])


def _fingerprint(value: str) -> str:
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not sha256:<64 lower-case hex digits>")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", required=True, help="SUSY CSV, plain or gzip")
    parser.add_argument("--out-dir", required=True, help="folder of Parquet conversions")
    parser.add_argument(
        "--fingerprint",
        required=True,
        type=_fingerprint,
        help="sha256:<hex> of the CSV (the spark_job role computes it); names the folder",
    )
    return parser.parse_args(argv)


def target_dir(out_dir: str, fingerprint: str) -> str:
    return os.path.join(out_dir, fingerprint.removeprefix("sha256:"))


def convert(spark: SparkSession, csv: str, target: str) -> None:
    """Write `csv` as Parquet to the folder `target`, which appears only once complete."""
    out_dir = os.path.dirname(target)
    os.makedirs(out_dir, exist_ok=True)
    # A sibling folder named per process, renamed only once Spark has written it whole: an
    # interrupted conversion never looks finished.
    partial = os.path.join(out_dir, f".{os.path.basename(target)}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        table = spark.read.csv(csv, schema=SUSY_SCHEMA, header=False, mode="FAILFAST")
        table.write.parquet(partial)
        os.rename(partial, target)
    except OSError:
        # Another conversion of the same content finished first; its result is as good.
        if not os.path.isdir(target):
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    target = target_dir(args.out_dir, args.fingerprint)
    # The same content was converted before: no need to even start Spark.
    if not os.path.isdir(target):
        # A session that already exists (a test's) is used and left running.
        owned = SparkSession.getActiveSession() is None
        spark = SparkSession.builder.appName("sparksweep prepare").getOrCreate()
        try:
            convert(spark, args.csv, target)
        finally:
            if owned:
                spark.stop()
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
