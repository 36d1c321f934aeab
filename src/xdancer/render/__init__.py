"""Renderers: (reference photo, its pose, a pose sequence) -> video frames.

``base.Renderer`` is the interface; ``warp.WarpRenderer`` animates the photo itself by mesh
deformation on the CPU (the default), ``diffusion`` holds the learned video renderer and
``skeleton.SkeletonRenderer`` draws the poses.
"""
