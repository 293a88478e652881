"""prnet_synth.

Importing it (every package of the project does, first) sets TensorFlow's environment defaults
before TensorFlow is imported: ``prnet_synth.tf_env``.
"""
from . import tf_env as _tf_env

_tf_env.configure()
