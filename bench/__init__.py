"""Benchmarks: each prints its numbers beside a baseline measured in the same run (`python -m bench.<name>`).

They use the service only through its public seams (boto3 against `local.serve`, the vision pipeline, the
storage repositories and the embedding index), and share their data, table and server helpers in `common`.
"""
