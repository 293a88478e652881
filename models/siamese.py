"""The face-verification Siamese network of Pini et al. (001, Fig. 3 and sec. 4.3).

Fig. 3: k3n64s2 - k3n128s2 - k3n256s2 - k3n256s2 - k3n256s2 - avgpoolk2 - fc128 - fc32 - fc1; the
output is a continuous similarity in [0, 1]; "two input faces are considered as belonging to the
same person if their similarity score is higher than 0.5". Trained on original depth maps only.

Not stated, decided (docs/notes/80_cgans.md): the two branches share all weights up to fc128
(a Siamese network); the branch embeddings are merged by their element-wise absolute difference,
which makes the score symmetric in the two faces; fc32 (ReLU) and fc1 (sigmoid) act on that; batch
norm + ReLU after each convolution; binary cross-entropy with label 1 = same subject.
"""
from __future__ import annotations

from typing import Sequence

import keras

from .gan_common import make_adam

__all__ = ["CONV_FILTERS", "build_branch", "build_siamese", "THRESHOLD"]

CONV_FILTERS = (64, 128, 256, 256, 256)
FC_UNITS = (128, 32)
THRESHOLD = 0.5


def build_branch(input_size: int = 96, filters: Sequence[int] = CONV_FILTERS, fc: int = FC_UNITS[0],
                 name: str = "siamese_branch") -> keras.Model:
    inp = keras.Input((input_size, input_size, 1), name="depth")
    x = inp
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, strides=2, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{i + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{i + 1}")(x)
    x = keras.layers.AveragePooling2D(pool_size=2, name="avgpool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(fc, activation="relu", name="fc128")(x)
    return keras.Model(inp, x, name=name)


def build_siamese(input_size: int = 96, filters: Sequence[int] = CONV_FILTERS,
                  fc_units: Sequence[int] = FC_UNITS, lr: float = 1e-3) -> keras.Model:
    """Compiled Siamese verifier: inputs (face_a, face_b) in [-1, 1], output P(same subject)."""
    size_after = input_size
    for _ in filters:
        size_after = (size_after + 1) // 2
    if size_after < 2:
        raise ValueError(f"input size {input_size} is too small for {len(filters)} stride-2 convolutions "
                         "and a 2x2 average pooling")
    branch = build_branch(input_size, filters, fc_units[0])
    a = keras.Input((input_size, input_size, 1), name="face_a")
    b = keras.Input((input_size, input_size, 1), name="face_b")
    ea, eb = branch(a), branch(b)
    # |ea - eb| = relu(ea - eb) + relu(eb - ea), with plain (serialisable) layers
    pos = keras.layers.ReLU(name="diff_pos")(keras.layers.Subtract(name="a_minus_b")([ea, eb]))
    neg = keras.layers.ReLU(name="diff_neg")(keras.layers.Subtract(name="b_minus_a")([eb, ea]))
    d = keras.layers.Add(name="abs_diff")([pos, neg])
    x = keras.layers.Dense(fc_units[1], activation="relu", name="fc32")(d)
    out = keras.layers.Dense(1, activation="sigmoid", name="fc1")(x)
    model = keras.Model([a, b], out, name="pini_siamese")
    # the optimizer of the verifier is not stated in 001; Adam 1e-3 (decided)
    model.compile(optimizer=make_adam(lr, 0.9, 0.999), loss="binary_crossentropy", metrics=["accuracy"])
    return model
