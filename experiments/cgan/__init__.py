"""Library code of the Pini et al. (001) and Fabbri et al. (003) reproductions: face crops, data
preparation, training with resume, evaluation tables, probes and figures. The numbered scripts
``experiments/pini_*.py`` and ``experiments/fabbri_*.py`` are thin wrappers around it."""
