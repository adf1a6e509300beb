"""warpnet's one door for speed: buffers, compiled loops, NumPy's BLAS and its threads.

Nothing in ``warpnet.nn`` or ``warpnet.optim`` imports this package when it is imported: the
layers, losses and optimizers there are their formulas.  It is entered in two ways, each asking
it first whether it knows what it is given and falling back to the formulas otherwise:

- ``warpnet.train.make_step`` (``compile_step`` here): the whole training step, which the
  ``Trainer`` uses and which gathers its minibatches (``batches``);
- one formula at a time, on NumPy arrays unless ``fused=False``, as PyTorch runs native kernels,
  so that the lecture's own loop (``loss_fn``, ``model.backward``, ``penalty(params)``,
  ``opt.step()``) does not pay many passes or many small calls for each: ``Optimizer.step()``
  (``step.fused_step``), ``Penalty.__call__`` (``step.fused_penalty``) and
  ``SoftmaxCrossEntropy.__call__`` (``fused.softmax_cross_entropy``).

- ``step``: ``compile_step`` and ``CompiledStep``, the fused training step;
- ``fused`` and ``_kernels``: the compiled loops (numba, optional) of the update rules, the
  penalties' gradients, softmax cross-entropy and ReLU's backward pass;
- ``blas``: NumPy's own OpenBLAS through ctypes: its thread count, and letting its idle workers go;
- ``threads``: helper threads for memory-bound loops;
- ``batches``: shuffled minibatches gathered into reused buffers.
"""
