"""prnet_synth."""
