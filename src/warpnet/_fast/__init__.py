"""warpnet's one door for speed: buffers, compiled loops, NumPy's BLAS and its threads.

Nothing in ``warpnet.nn`` or ``warpnet.optim`` imports this package when it is imported: the
layers, losses and optimizers there are their formulas.  It is entered in two places, each asking
it first whether it knows what it is given and falling back to the formulas otherwise:

- ``warpnet.train.make_step`` (``compile_step`` here): the whole training step, which the
  ``Trainer`` uses and which gathers its minibatches (``batches``);
- ``Optimizer.step()`` on NumPy parameters (``step.fused_step``, unless ``fused=False``): the
  update alone, as PyTorch's optimizers choose a fused implementation, so the lecture's own loop
  (``model.backward`` then ``opt.step()``) does not pay four to ten passes over every weight.

- ``step``: ``compile_step`` and ``CompiledStep``, the fused training step;
- ``fused`` and ``_kernels``: the compiled loops (numba, optional) of the update rules, softmax
  cross-entropy and ReLU's backward pass;
- ``blas``: NumPy's own OpenBLAS through ctypes: its thread count, and letting its idle workers go;
- ``threads``: helper threads for memory-bound loops;
- ``batches``: shuffled minibatches gathered into reused buffers.
"""
