"""One BLAS/OpenMP thread for bench/scale.py: one core per scan, as one Lambda vCPU.

numpy (and onnxruntime's OpenMP) read these variables once, when they load, so bench/scale.py imports this
module before numpy. A value already set in the environment is kept.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
