"""Presentation-attack detection on face depth (Schlett et al. IV-G): the geometric check
(``experiments.pad.geometric``) and the real-time program (``python -m experiments.pad.realtime``)."""
