"""Schlett et al. section IV (000_5d0e6bc7884ed0ba.txt): the computations behind Tables IV-VII, the
figures, the embedded default data and the steps of the numbered scripts ``experiments/0*.py``.

Modules: ``config`` (presets), ``io`` (result paths, CSVs with provenance, caches), ``masks`` (face
masks from dlib's 68 landmarks), ``run`` (enhancers over image stacks, cached, with "weights
missing" handling), ``evalsets`` (KinectFaceDB / D435 / embedded synthetic image sets for IV-E..J),
``tables`` (Tables IV-VII), ``figures`` (Figs. 8-10, 13-18), ``steps`` (one function per script).
"""
