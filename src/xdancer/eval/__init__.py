"""Evaluation: the motion and video metrics of X-Dancer and its peers, as pure functions on arrays.

- :mod:`xdancer.eval.motion_features`: per-sequence features of 2D whole-body poses (joint speed,
  dance beats, kinetic and geometric features, foot contact).
- :mod:`xdancer.eval.metrics`: BAS, DIV, FID_k / FID_g, the Frechet distance, foot skating.
- :mod:`xdancer.eval.fvd`: FVD with a PyTorch port of the Kinetics-400 I3D network.
- :mod:`xdancer.eval.run`: folders of poses in, ``metrics.json`` and a report out.
"""
