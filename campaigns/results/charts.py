"""Charts as inline SVG drawn on the server: no script, no CDN, nothing the page's Content
Security Policy refuses (shapes and presentation attributes only, colours from the stylesheet's
classes). Each chart is the geometry a template draws; the same figures are in a table next to
it for people who do not see the chart."""

from __future__ import annotations

from dataclasses import dataclass

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    text_x: float
    text_y: float


def bars(items: list[tuple[str, int]], *, width: int = 640, row: int = 26,
         label_width: int = 220) -> dict:
    """Horizontal bars, one a row, longest to the widest: ``items`` are (label, value)."""
    top = max((value for _, value in items), default=0) or 1
    room = width - label_width - 60
    drawn = []
    for index, (label, value) in enumerate(items):
        length = room * value / top
        y = index * row + 4
        drawn.append(Bar(label=label, value=value, x=label_width, y=y,
                         width=round(max(length, 1 if value else 0), 1), height=row - 8,
                         text_x=round(label_width + length + 6, 1), text_y=y + row / 2))
    return {"bars": drawn, "width": width, "height": max(row, len(items) * row + 8),
            "label_x": label_width - 8}


def columns(items: list[tuple[str, int]], *, width: int = 640, height: int = 180) -> dict:
    """Vertical columns left to right (e.g. weeks), each labelled below."""
    top = max((value for _, value in items), default=0) or 1
    plot = height - 40
    step = width / max(len(items), 1)
    drawn = []
    for index, (label, value) in enumerate(items):
        length = plot * value / top
        x = index * step + step * 0.15
        drawn.append(Bar(label=label, value=value, x=round(x, 1), y=round(10 + plot - length, 1),
                         width=round(step * 0.7, 1), height=round(length, 1),
                         text_x=round(x + step * 0.35, 1), text_y=height - 12))
    return {"bars": drawn, "width": width, "height": height, "base_y": 10 + plot}


def heat_map(heat: list[list[dict]], *, cell: int = 22, left: int = 40, top: int = 20) -> dict:
    """7 x 24 cells, darker where posts did better on average; empty cells stay pale."""
    best = max((c["average"] or 0 for row in heat for c in row), default=0) or 1
    rows = []
    for day, row in enumerate(heat):
        cells = []
        for hour, value in enumerate(row):
            level = 0 if value["average"] is None else 1 + min(4, int(4 * value["average"] / best))
            cells.append({"x": left + hour * cell, "y": top + day * cell, "hour": hour,
                          "posts": value["posts"], "average": value["average"],
                          "level": level})
        rows.append({"name": WEEKDAYS[day], "y": top + day * cell + cell / 2 + 4,
                     "cells": cells})
    hours = [{"hour": hour, "x": left + hour * cell + cell / 2} for hour in range(0, 24, 3)]
    return {"rows": rows, "hours": hours, "cell": cell - 2, "width": left + 24 * cell + 4,
            "height": top + 7 * cell + 4, "label_x": left - 6}
