"""What the report (report.py) and the comparison (compare.py) draw alike: markdown tables,
terminal tables and the frame of a speedup plot, so that their files look one way."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich import box
from rich.table import Table

from sparksweep.fit import amdahl_speedup

# Points along a fitted curve: smooth at the size the plots are drawn.
_CURVE_POINTS = 200


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None
) -> list[str]:
    """A markdown table's lines: every column right-aligned, or those right says.

    A | in a cell is escaped, since it would end the cell.
    """
    aligned = [True] * len(headers) if right is None else right
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if r else ":---" for r in aligned) + "|",
        *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows),
    ]


def terminal_table(title: str, caption: str | None = None) -> Table:
    """A rich table with no vertical rules, outer edge or left padding, to fit a terminal."""
    return Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )


class SpeedupPlot:
    """A plot of speedup S(w) over 1..max_w workers, with the ideal S = w drawn first.

    Callers draw on axes, then png() labels the plot, adds the legend of all that was drawn
    and returns the image.
    """

    def __init__(self, max_w: int) -> None:
        self.max_w = max_w
        # A bare Figure on the Agg canvas: no pyplot global state, no display needed.
        self.figure = Figure(figsize=(7, 5), dpi=100)
        FigureCanvasAgg(self.figure)
        self.axes = self.figure.add_subplot()
        self.axes.plot([1, max_w], [1, max_w], linestyle="--", color="grey", label="ideal S = w")

    def amdahl(self, parallel_fraction: float, **style: Any) -> None:
        """Amdahl's speedup with parallel_fraction from 1 to max_w workers, in style."""
        w = np.linspace(1, self.max_w, _CURVE_POINTS)
        self.axes.plot(w, amdahl_speedup(w, parallel_fraction), **style)

    def measured(self, workers: Sequence[int], speedups: Sequence[float], **style: Any) -> None:
        """Measured speedups, as markers with no line between them, in style."""
        self.axes.plot(workers, speedups, linestyle="none", **style)

    def png(self, metric: str, title: str) -> bytes:
        """The plot as PNG, its y axis the speedup of metric."""
        self.axes.set_xlabel("workers w")
        self.axes.set_ylabel(f"speedup S(w) = T(1) / T(w) of {metric}")
        self.axes.set_title(title)
        self.axes.set_xticks(range(1, self.max_w + 1))
        self.axes.grid(alpha=0.3)
        self.axes.legend(loc="upper left", fontsize="small")
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()
