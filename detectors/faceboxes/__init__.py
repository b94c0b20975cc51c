"""FaceBoxes (Zhang et al., IJCB 2017): the fast CPU face detector.

``config`` (anchor layouts) is importable without torch; ``model`` needs torch and is only
used for training and export.
"""
