"""warpnet's one door for speed: buffers, compiled loops, NumPy's BLAS and its threads.

Nothing in ``warpnet.nn`` or ``warpnet.optim`` imports this package: the layers, losses and
optimizers there are their formulas.  It is reached from one dispatch point,
``warpnet.train.make_step`` (``compile_step`` here, for what it knows; the plain step otherwise),
which the ``Trainer`` uses and which gathers its minibatches (``batches``).

- ``step``: ``compile_step`` and ``CompiledStep``, the fused training step;
- ``fused`` and ``_kernels``: the compiled loops (numba, optional) of the update rules, softmax
  cross-entropy and ReLU's backward pass;
- ``blas``: NumPy's own OpenBLAS through ctypes: its thread count, and letting its idle workers go;
- ``threads``: helper threads for memory-bound loops;
- ``batches``: shuffled minibatches gathered into reused buffers.
"""
