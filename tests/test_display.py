"""Notebook summaries of models: ``Module._repr_html_``."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from warpnet import nn


class Cells(HTMLParser):
    """The text of each table row's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


def test_mlp_table_counts_every_parameter():
    model = nn.mlp([64, 100, 10], rng=0)
    text = model._repr_html_()
    parser = Cells()
    parser.feed(text)
    header, *rows = parser.rows
    assert header == ["", "layer", "parameters", "count"]
    assert [r[0] for r in rows] == ["0", "1", "2"]
    assert rows[0][1] == "Linear(64 -> 100)" and rows[0][2] == "weight (64, 100), bias (100,)"
    counts = [int(r[3].replace(",", "")) for r in rows]
    # oracle: the parameters' sizes summed directly
    assert sum(counts) == sum(p.value.size for p in model.parameters()) == 64 * 100 + 100 + 100 * 10 + 10
    assert re.search(r"Sequential: 7,510 parameters \(float32\)", text)


def test_nested_containers_and_escaping():
    model = nn.Sequential(nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU()), nn.Linear(2, 1, rng=0))
    parser = Cells()
    parser.feed(model._repr_html_())
    assert [r[0] for r in parser.rows[1:]] == ["0.0", "0.1", "1"]
    assert "->" not in model._repr_html_()  # '>' is escaped


def test_a_single_layer():
    text = nn.ReLU()._repr_html_()
    assert "ReLU: 0 parameters" in text and "<td>ReLU</td>" in text
