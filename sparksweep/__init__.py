"""sparksweep: measure how a Spark K-Means job scales on a cluster of containers."""

__version__ = "0.1.0"
