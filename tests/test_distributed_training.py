"""U-Net training under tf.distribute (issue #23), tested on this CPU with two logical devices: a
MirroredStrategy run over two replicas (global batch split in two) ends where a single-device run of
the same global batch ends, up to float rounding; and the initial weights follow the seed, so two
single-device runs of one seed in one process agree and a run of another seed does not."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r'''
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from models.enhancer_presets import tiny_preset
from models.training import train_one

out = sys.argv[1]
single = tf.distribute.get_strategy()
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

def run(tag, batch, seed, strategy):
    r = train_one("DL-Delta-1", tiny_preset(batch_size=batch, delta_epochs=1), seed, out_dir=f"{out}/{tag}",
                  data="toy", verbose=False, strategy=strategy)
    rec = json.load(open(r["weights"][:-len(".keras")] + ".json"))
    return keras.models.load_model(r["weights"], compile=False).get_weights(), rec

def diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))

one, _ = run("one", 4, 5, single)
again, _ = run("again", 4, 5, single)
other, _ = run("other_seed", 4, 6, single)
two, rec = run("two", 2, 5, mirrored)
print("RESULT " + json.dumps({"replicas": mirrored.num_replicas_in_sync, "recorded_replicas": rec["replicas"],
                              "mirrored_vs_single": diff(one, two), "same_seed": diff(one, again),
                              "other_seed": diff(one, other)}))
'''


def test_mirrored_over_two_devices_matches_one_device_and_the_seed_fixes_the_start(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    r = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], cwd=ROOT, capture_output=True,
                       text=True, timeout=1200, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(next(line for line in r.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert res["replicas"] == 2 and res["recorded_replicas"] == 2
    assert res["same_seed"] < 1e-5, res                 # the start no longer depends on what ran before
    assert res["other_seed"] > 0.05, res                # the scale of a real difference
    assert res["mirrored_vs_single"] < 0.1 * res["other_seed"], res
