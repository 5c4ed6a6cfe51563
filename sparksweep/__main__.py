"""`python -m sparksweep`: the same command line as the `sparksweep` console script."""

from sparksweep.cli import main

raise SystemExit(main())
