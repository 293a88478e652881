"""Readers for the papers' data sets in their real on-disk formats (one module per data set; ``face_crop``:
the eq. 6 face crop of Pini et al. that the Biwi, Pandora and MotorMark readers share)."""
