"""Fabbri et al.'s perceptual probes (003 IV-C, IV-D; Tables II-IV).

Attribute concordance: 003 fine-tunes VGG-Face on CelebA and compares the attributes it predicts on
the true RGB face with those it predicts on the generated one (accuracy / precision / recall / F1,
the true face's prediction as reference). That model is not obtainable here; instead a small CNN
(``build_attribute_classifier``) is trained on the original RGB training faces for the attributes
the data carry (synthetic: smiling, mouth open, eyeglasses, occluded), and the tables say so.

Face detection and landmarks: dlib's HOG detector and 68-point predictor (``prnet_synth.landmarks``)
run on the original and on the generated faces, both upscaled to ``upscale`` pixels (dlib's detector
does not find faces of 64 pixels); detection accuracy = share of faces where dlib finds one;
landmark L2 = mean Euclidean distance (in pixels of the model's input size) between dlib's points
on the image and the ground-truth points of the data set (003 IV-D), over the points the data set
has (its landmarks mapped to dlib's 68 by ``landmarks68``), per face, then over the detected faces.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

__all__ = ["build_attribute_classifier", "train_attribute_classifier", "predict_attributes", "concordance",
           "dlib_probe", "CLASSIFIER_NOTE"]

CLASSIFIER_NOTE = ("attribute classifier: small CNN trained on the original RGB training faces for the data's "
                   "known attributes ({attrs}); the paper's VGG-Face fine-tuned on CelebA is not obtainable")


def build_attribute_classifier(size: int, n_attrs: int, filters: Sequence[int] = (32, 64, 128)):
    import keras

    inp = keras.Input((size, size, 3), name="rgb")
    x = inp
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{i + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{i + 1}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(n_attrs, activation="sigmoid", name="attributes")(x)
    model = keras.Model(inp, out, name="attribute_classifier")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["binary_accuracy"])
    return model


def train_attribute_classifier(rgb_u8: np.ndarray, labels: np.ndarray, *, filters, epochs: int, seed: int,
                               backup_dir, log=print):
    from models.gan_common import fit_resumable, to_unit

    model = build_attribute_classifier(rgb_u8.shape[1], labels.shape[1], filters)
    fit_resumable(model, to_unit(rgb_u8), labels.astype(np.float32), epochs=epochs, batch_size=32,
                  backup_dir=backup_dir, label="attribute_classifier", seed=seed, log=log)
    return model


def predict_attributes(model, rgb_u8: np.ndarray, batch_size: int = 128) -> np.ndarray:
    from models.gan_common import to_unit

    x = to_unit(rgb_u8)
    out = [np.asarray(model(x[i:i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(out) > 0.5


def concordance(reference: np.ndarray, generated: np.ndarray) -> dict:
    """Accuracy, precision, recall, F1 (in %) of ``generated`` against ``reference`` (both boolean,
    one attribute). Precision / recall / F1 count an empty denominator as 0 (scikit-learn's
    ``zero_division=0``) and are NaN only when neither side has a positive (nothing to score)."""
    r, g = np.asarray(reference, bool), np.asarray(generated, bool)
    tp = int(np.sum(r & g))
    fp = int(np.sum(~r & g))
    fn = int(np.sum(r & ~g))
    acc = float(np.mean(r == g)) if r.size else math.nan
    if tp + fp + fn == 0:
        prec = rec = f1 = math.nan
    else:
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return {"accuracy": 100 * acc, "precision": 100 * prec, "recall": 100 * rec, "f1": 100 * f1}


def dlib_probe(rgb_u8: np.ndarray, gt_landmarks: Optional[np.ndarray], upscale: int = 256) -> dict:
    """dlib detection rate (%) and landmark L2 (pixels of the input size) on a batch of RGB faces;
    also returns the per-face landmarks (NaN where no face was found)."""
    import cv2

    from prnet_synth.landmarks import detect_landmarks

    n, size = rgb_u8.shape[0], rgb_u8.shape[1]
    scale = upscale / size
    found = np.zeros(n, bool)
    pts = np.full((n, 68, 2), np.nan, np.float32)
    for i in range(n):
        big = cv2.resize(rgb_u8[i], (upscale, upscale), interpolation=cv2.INTER_CUBIC)
        res = detect_landmarks(big, upsample=0)
        if res is not None:
            found[i] = True
            pts[i] = res[1] / scale
    l2 = math.nan
    if gt_landmarks is not None and found.any():
        gt = np.asarray(gt_landmarks, np.float32)[:, :, :2]
        has = np.all(np.isfinite(gt), axis=-1)                  # points the data set provides (mapped to dlib's 68)
        per_face = [float(np.mean(np.linalg.norm(pts[i][has[i]] - gt[i][has[i]], axis=-1)))
                    for i in range(n) if found[i] and has[i].any()]
        if per_face:
            l2 = float(np.mean(per_face))
    return {"detection_accuracy": 100.0 * float(found.mean()) if n else math.nan, "landmark_l2": l2,
            "found": found, "landmarks": pts}
