"""PySpark code that runs inside the containers; each module is also a standalone script."""
