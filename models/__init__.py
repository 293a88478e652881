"""models."""
import prnet_synth as _prnet_synth  # noqa: F401  (TensorFlow's environment before TensorFlow: prnet_synth.tf_env)
