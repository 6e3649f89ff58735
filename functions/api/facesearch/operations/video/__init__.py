"""Rekognition's stored-video face operations: StartFaceDetection / GetFaceDetection and StartFaceSearch /
GetFaceSearch (start.py, results.py), and the worker that runs the jobs (worker.py: plan, segment, merge)."""

from __future__ import annotations

from facesearch.operations.video import jobs, results, start

__all__ = ["jobs", "results", "start"]
