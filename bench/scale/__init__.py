"""Scale: compact int8 shards against float32, 1M to 20M faces, one core per scan, and a fan-out model.

    .venv/bin/python -m bench.scale --faces 5000000
    .venv/bin/python -m bench.scale --faces 20000000 --queries 10 --no-kernels
    .venv/bin/python -m bench.scale --faces 200000 --queries 5 --rounds 3   # a quick look (a few minutes)

Every number is printed next to a baseline measured in the same run (the machine is shared: timings
alternate the contenders round by round and report medians):
1. bytes per face in S3 and in a warm cache: today's float32 .npz segment vs a compact shard;
2. how face-like the synthetic faces are: their cosine percentiles vs real different-person LFW pairs;
3. warm scan on one core: a plain read of the same bytes (the bandwidth), numpy's float32 scan of 1M faces,
   the compact scan of 1M and of all N faces: ms, GB/s and the fraction of the bandwidth;
4. other int8 kernels on the same 1M codes (onnxruntime MatMulInteger / MatMulNBits, numpy blocks);
5. recall of the exact float32 top-MaxFaces above the threshold over all N faces, for cosine thresholds
   0.3-0.7 and MaxFaces 1-4096, with the over-fetch (face items read per search) it costs;
6. the error bound: the largest |int8 score - exact cosine| seen, as a fraction of the bound used;
7. fan-out: worker processes scan slices (as Lambda invocations would); per-slice and merge times are
   measured, and the end-to-end p50/p95 for 1M, 5M and 20M faces is modelled from them plus the
   parameters of bench/scale/fanout.CloudParams (invoke, S3, DynamoDB: assumptions, overridable).

The collection: N faces in shards of --shard-rows, drawn from a Gaussian fitted to the shipped pipeline's
LFW embeddings (bench/scale/lfw.py), with the real LFW faces spread over the shards; the queries are real
LFW photos whose person is in the collection. Without ../shared the faces are isotropic (said in the output).

What decides the shard size: S3 GET efficiency (AWS recommends 8-16 MB ranges; 100k compact faces = 14.8
MB), compaction's write amplification (each merge rewrites its inputs), the META item's segment map (one
entry per object in a 400 KB DynamoDB item) and the cache's eviction unit. What decides the slice size:
the memory of one invocation (152 bytes per face cached: 5M faces = 760 MB of a 1,769 MB function) and
the latency budget: a slice should scan in about the invoke overhead (1M faces in ~15-25 ms here), since
the slowest of S parallel invocations sets the latency and more slices mean more tail.
"""

import os

# One BLAS/OpenMP thread: one core per scan, as one Lambda vCPU. numpy (and onnxruntime's OpenMP) read these
# variables once, when they load, and nothing has imported numpy before this package runs (`python -m
# bench.scale`). A value already set in the environment is kept.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
