"""SGD's update as one numba loop (see ``warpnet.fused``); imported only where numba runs."""

from __future__ import annotations

import numba


@numba.njit(nogil=True, cache=True, error_model="numpy")
def sgd(w, g, v, lr, rho, decay, nesterov, momentum):  # pragma: no cover (compiled)
    """Update the flat arrays ``w`` and (with ``momentum``) ``v`` in place from the gradient ``g``."""
    for i in range(w.size):
        d = g[i] + decay * w[i]  # the gradient with its L2 / weight-decay part
        if not momentum:
            w[i] -= lr * d
            continue
        vi = rho * v[i] + d
        v[i] = vi
        w[i] -= lr * (d + rho * vi) if nesterov else lr * vi
