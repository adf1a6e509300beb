"""HTML summaries for Jupyter: what ``Module._repr_html_`` shows.

A model shows as a table of its layers (path, layer, parameter shapes, parameter count) and the
total count; its ``repr`` stays the plain-text tree.
"""

from __future__ import annotations

import html
import math
from typing import Any


def module_html(module: Any) -> str:
    """An HTML table of ``module``'s leaf layers and their parameters.

    Args:
        module: a ``warpnet.nn.Module`` (any object with ``named_children`` and
            ``named_parameters``).

    Returns:
        ``<div>`` with a title line (class name, total parameter count) and one table row per
        layer that has no children, in forward order.
    """
    rows = []
    total = 0
    for path, leaf in _leaves(module, ""):
        params = list(leaf.named_parameters())
        count = sum(math.prod(p.shape) for _, p in params)
        total += count
        shapes = ", ".join(f"{name} {tuple(p.shape)}" for name, p in params)
        rows.append((path or type(leaf).__name__, repr(leaf), shapes, count))
    dtype = next((str(p.value.dtype) for _, p in module.named_parameters()), None)
    title = f"{type(module).__name__}: {total:,} parameters" + (f" ({dtype})" if dtype else "")
    body = "".join(
        f"<tr><td>{html.escape(path)}</td><td><code>{html.escape(layer)}</code></td>"
        f"<td>{html.escape(shapes)}</td><td style='text-align:right'>{count:,}</td></tr>"
        for path, layer, shapes, count in rows)
    return (f"<div><p><b>{html.escape(title)}</b></p><table><thead><tr><th></th><th>layer</th>"
            f"<th>parameters</th><th>count</th></tr></thead><tbody>{body}</tbody></table></div>")


def _leaves(module: Any, path: str) -> list[tuple[str, Any]]:
    children = list(module.named_children())
    if not children:
        return [(path, module)]
    out = []
    for name, child in children:
        out += _leaves(child, f"{path}.{name}" if path else name)
    return out
