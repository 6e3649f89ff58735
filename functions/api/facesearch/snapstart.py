"""SnapStart: the models load and run once before Lambda snapshots the initialised function, so a cold start
restores them instead of paying import, model load and first inference again; what must not be shared
between restored copies is made fresh after each restore.

Before the snapshot: the face pipeline is loaded (its sessions stay in get_pipeline's process cache) and
run once on a synthetic image, so onnxruntime's kernels are initialised too. Nothing secret is fetched.
After a restore: the services are rebuilt (new AWS clients and connection pools; a snapshot's sockets are
dead), the access-key cache is dropped (keys may have rotated since the snapshot), and `random` is reseeded
(copies restored from one snapshot would otherwise share its state; uuid4 and secrets read os.urandom).
"""

from __future__ import annotations

import os
import random

import numpy as np

from facesearch import services
from facesearch.settings import Settings

SNAP_START = "snap-start"


def before_snapshot() -> None:
    from facesearch.vision.image_decoder import DecodedImage

    pipeline = services.services().pipeline()
    image = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    pipeline.analyze(DecodedImage(pixels=image, width=256, height=256, format="PNG"))
    services.reset()  # the clients it built would be restored with dead sockets


def after_restore() -> None:
    from aws_lambda_powertools.utilities import parameters

    services.reset()
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # powertools leaves it unannotated
    random.seed(os.urandom(32))


def register(settings: Settings) -> bool:
    """Install the hooks when this function initialises for a SnapStart snapshot; True if it did."""
    if settings.initialization_type != SNAP_START:
        return False
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True
