"""SGD's update as one numba loop (see ``warpnet.fused``); imported only where numba runs."""

from __future__ import annotations

import numba


# "reassoc" lets the compiler sum the squares in vector lanes (the order of a sum; nothing else in
# the loop can be reassociated).
@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def sgd(w, g, v, lr, rho, decay, nesterov, momentum):  # pragma: no cover (compiled)
    """Update the flat arrays ``w`` and (with ``momentum``) ``v`` in place from the gradient ``g``;
    return ``sum(w**2)`` of the weights as they were before (an L2 penalty's value, on the way)."""
    squares = 0.0
    for i in range(w.size):
        wi = w[i]
        squares += wi * wi
        d = g[i] + decay * wi  # the gradient with its L2 / weight-decay part
        if not momentum:
            w[i] = wi - lr * d
            continue
        vi = rho * v[i] + d
        v[i] = vi
        w[i] = wi - (lr * (d + rho * vi) if nesterov else lr * vi)
    return squares
