"""Chiu et al. experiment code (DepthNet tables I/V, mask-guided recognition table VI)."""
