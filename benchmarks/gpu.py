"""GPU check: the engine's array-API code runs unchanged on PyTorch CUDA tensors and CuPy arrays.

1. gradcheck of every layer, loss and penalty in float64 on each GPU namespace;
2. the same float64 training run on the GPU and on NumPy ends with the same weights;
3. one training step of 3072-1024-1024-10 (batch 256, float32) timed: warpnet on the GPU vs the
   same network in plain PyTorch on the GPU vs warpnet on NumPy.

Usage: python benchmarks/gpu.py   (exits 0 with a message when no GPU is present)
"""

from __future__ import annotations

import time

import numpy as np

from warpnet import nn, optim


def namespaces() -> list[tuple[str, object, object]]:
    found = []
    try:
        import torch

        if torch.cuda.is_available():
            found.append(("torch-cuda", torch, "cuda"))
    except ImportError:
        pass
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            found.append(("cupy", cupy, None))
    except Exception:  # noqa: BLE001 - cupy raises several kinds when no device is usable
        pass
    return found


def on(xp, device, a):
    return xp.asarray(a, device=device) if device is not None else xp.asarray(a)


def sync(name: str) -> None:
    if name == "torch-cuda":
        import torch

        torch.cuda.synchronize()
    elif name == "cupy":
        import cupy

        cupy.cuda.Device().synchronize()


def gradchecks(name: str, xp, device) -> float:
    rng = np.random.default_rng(0)
    x = on(xp, device, rng.standard_normal((4, 6)) + 0.05)
    worst = 0.0
    for act in nn.ACTIVATIONS.names():
        model = nn.mlp([6, 5, 3], act, dtype="float64", rng=1, dropout=0.2).to(xp, device)
        worst = max(worst, nn.gradcheck(model, x))
    s = on(xp, device, rng.standard_normal((5, 4)))
    y = on(xp, device, rng.integers(0, 4, 5))
    for loss in (nn.SoftmaxCrossEntropy(), nn.MulticlassSVM()):
        worst = max(worst, nn.gradcheck(loss, s, y))
    worst = max(worst, nn.gradcheck(nn.MSE(), s, s * 0.5))
    for pen in (nn.L2(0.1), nn.L1(0.1)):
        worst = max(worst, nn.gradcheck(pen, s))
    return worst


def train(xp, device, steps: int = 20) -> dict[str, np.ndarray]:
    from warpnet.backend import to_numpy

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 30)), rng.integers(0, 5, 64)
    model = nn.mlp([30, 40, 40, 5], "elu", dtype="float64", rng=2)
    if xp is not np:
        model.to(xp, device)
        x, y = on(xp, device, x), on(xp, device, y)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    loss_fn, pen = nn.SoftmaxCrossEntropy(), nn.L2(1e-3)
    for _ in range(steps):
        opt.zero_grad()
        _, d = loss_fn(model.forward(x), y)
        model.backward(d, need_dx=False)
        pen(model.parameters())
        opt.step()
    return {k: to_numpy(v) for k, v in model.state_dict().items()}


def time_step(name: str, xp, device, n: int = 50) -> float:
    sizes, batch = [3072, 1024, 1024, 10], 256
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((batch, 3072), dtype=np.float32), rng.integers(0, 10, batch)
    model = nn.mlp(sizes, rng=0)
    if xp is not np:
        model.to(xp, device)
        x, y = on(xp, device, x), on(xp, device, y)
    opt = optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss_fn, pen = nn.SoftmaxCrossEntropy(), nn.L2(1e-4)

    def step():
        opt.zero_grad()
        _, d = loss_fn(model.forward(x), y)
        model.backward(d, need_dx=False)
        pen(model.parameters())
        opt.step()

    for _ in range(5):
        step()
    sync(name)
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    sync(name)
    return (time.perf_counter() - t0) / n


def torch_native_step(n: int = 50) -> float:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3072, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                                torch.nn.ReLU(), torch.nn.Linear(1024, 10)).cuda()
    x = torch.randn(256, 3072, device="cuda")
    y = torch.randint(0, 10, (256,), device="cuda")
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y) + 1e-4 * sum((w * w).sum() for w in weights)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n


def trainer_run(xp, device) -> tuple[float, float]:
    """(seconds, training accuracy) of 3 Trainer epochs on 10,000 x 3072 with the data on the device."""
    from warpnet.train import Trainer

    rng = np.random.default_rng(0)
    x = rng.standard_normal((10_000, 3072), dtype=np.float32)
    y = (x[:, :10].argmax(axis=1)).astype(np.int64)  # learnable labels
    model = nn.mlp([3072, 100, 10], rng=0)
    if xp is not np:
        model.to(xp, device)
        x, y = on(xp, device, x), on(xp, device, y)
    trainer = Trainer(model, "softmax", "sgd", lr=0.01, momentum=0.9, batch_size=200, epochs=3, verbose=0)
    t0 = time.perf_counter()
    history = trainer.fit(x, y)
    return time.perf_counter() - t0, history.records[-1]["train_accuracy"]


def main() -> None:
    found = namespaces()
    if not found:
        print("no GPU namespace available (PyTorch with CUDA or CuPy): nothing to check")
        return
    reference = train(np, None)
    cpu_step = time_step("numpy", np, None, n=5)
    for name, xp, device in found:
        err = gradchecks(name, xp, device)
        weights = train(xp, device)
        diff = max(float(np.max(np.abs(weights[k] - reference[k]))) for k in reference)
        print(f"{name}: gradcheck max relative error {err:.1e} ({'ok' if err < 1e-7 else 'FAIL'}); "
              f"20 float64 SGD steps vs NumPy: max weight difference {diff:.1e} "
              f"({'ok' if diff < 1e-10 else 'FAIL'})")
        gpu_step = time_step(name, xp, device)
        line = (f"{name}: step 3072-1024-1024-10 batch 256 float32: warpnet {gpu_step * 1e3:.2f} ms, "
                f"warpnet on NumPy (this host) {cpu_step * 1e3:.1f} ms")
        if name == "torch-cuda":
            native = torch_native_step()
            line += f", plain PyTorch {native * 1e3:.2f} ms (ratio {native / gpu_step:.2f}x)"
        print(line)
        try:
            seconds, acc = trainer_run(xp, device)
            print(f"{name}: Trainer, 3 epochs of 10,000 x 3072 -> 100 -> 10: {seconds:.2f} s, "
                  f"train accuracy {acc:.3f}")
        except Exception as err:  # noqa: BLE001 - report and go on with the other namespaces
            print(f"{name}: Trainer FAILED: {type(err).__name__}: {err}")


if __name__ == "__main__":
    main()
