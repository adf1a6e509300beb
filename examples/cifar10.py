"""Train the classic two-layer net on CIFAR-10 pixels (about 50 % test accuracy).

    python examples/cifar10.py [PATH]   # PATH: an npz folder or the official batches

The same run from the command line:
    warpnet train --data npz:PATH --hidden 500 --lr 0.01 --reg 0.001 --epochs 20 \
        --batch-size 200 --schedule cosine --out runs/cifar10
"""

import sys
from pathlib import Path

from warpnet import nn
from warpnet.data import Standardizer, load_cifar10, load_npz
from warpnet.train import Trainer

path = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cifar10")
data = load_npz(path) if any(path.glob("train*.npz")) else load_cifar10(path)
x_train = data.x.reshape(len(data.x), -1)  # (N, 32*32*3) uint8 pixels
x_test = data.test.x.reshape(len(data.test.x), -1)

# Zero-centre and scale each pixel with statistics of the training images only.
scaler = Standardizer().fit(x_train)
x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

model = nn.mlp([3072, 500, 10], activation="relu", rng=0)  # Linear -> ReLU -> Linear
trainer = Trainer(model, "softmax", "sgd", lr=1e-2, momentum=0.9, reg=1e-3,
                  batch_size=200, epochs=20, schedule="cosine", seed=0)
trainer.fit(x_train, data.y)
print(f"test accuracy: {trainer.evaluate(x_test, data.test.y)['accuracy']:.4f}")
