"""The best fully-connected net on CIFAR-10 pixels: whitening, batch normalisation, augmentation,
AdamW.

    python examples/cifar10_best_mlp.py [PATH] [EPOCHS]   # PATH: an npz folder or the batches

Pixels standardised, then ZCA-whitened (eps 0.1, fit on the training images: neighbouring pixels
decorrelated, edges brought out).  Three hidden layers of 1,024 ReLU units, each after a
BatchNorm1d and followed by dropout 0.2; AdamW (decoupled weight decay 0.05) with one warm-up
epoch then a cosine schedule; label smoothing 0.1; every minibatch flipped left-right at random
and shifted by up to 4 pixels (zero padding); 80 epochs (about 6 s each on 2 threads: under 10
minutes; trained on all 25,000 images it reaches 65.5 % test accuracy, see
benchmarks/cifar10.py).  Writes the training curves (loss and accuracy per epoch, validation
included) to cifar10-best-mlp.png.

The same run from the command line:
    warpnet train --data cifar10:PATH --recipe mlp-best --out runs/cifar10-best
(flags given after the recipe override it, e.g. --epochs 10).
"""

import sys
from pathlib import Path

import numpy as np

from warpnet import nn
from warpnet.data import Preprocessor, load_cifar10, load_npz
from warpnet.train import Trainer
from warpnet.viz import plot_history

path = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cifar10")
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 80
data = load_npz(path) if any(path.glob("train*.npz")) else load_cifar10(path)
x = data.x  # (N, 32, 32, 3) uint8 images

# Hold out 2,000 images to watch; standardise each pixel, then ZCA-whiten, with the training
# images' statistics.  Whitening is linear and image statistics barely change under flips and
# shifts, so the augmentation below moves the whitened images.
order = np.random.default_rng(0).permutation(len(x))
val, train = order[:2000], order[2000:]
pre = Preprocessor(pixel_max=255, whiten="zca", whiten_eps=0.1).fit(x[train])
x_train, x_val, x_test = pre.transform(x[train]), pre.transform(x[val]), pre.transform(data.test.x)

model = nn.mlp([3072, 1024, 1024, 1024, 10], norm="batch", dropout=0.2, rng=0)  # Linear, BN, ReLU, Dropout
trainer = Trainer(model, "softmax", "adamw", lr=2e-3, weight_decay=0.05, batch_size=128,
                  epochs=epochs, schedule="cosine", warmup=1, label_smoothing=0.1,
                  augment="flip,shift=4", image_shape=(32, 32, 3), seed=0)
history = trainer.fit(x_train, data.y[train], validation=(x_val, data.y[val]))
print(f"test accuracy: {trainer.evaluate(x_test, data.test.y)['accuracy']:.4f}")
plot_history(history, title="CIFAR-10: 3 x 1024 MLP, ZCA, BatchNorm, augmentation").savefig(
    "cifar10-best-mlp.png", dpi=90)
