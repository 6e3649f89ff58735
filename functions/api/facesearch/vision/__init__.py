"""Face detection, alignment, embedding and measurement on onnxruntime: images in, faces out.

Kept free of the wire and of storage; importing this package alone loads no model.
"""

from __future__ import annotations

FACE_MODEL_VERSION = "7.0"  # what FaceModelVersion reports: the YuNet 2023mar + SFace 2021dec pipeline
