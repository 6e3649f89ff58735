"""Stored video: the pure parts of the video jobs (how a video is cut and sampled, how faces are followed from
sample to sample) and how a job's work is handed to a worker. The operations (operations/video/) decide;
decoding is vision's (vision/video_*), the job records are storage's."""
