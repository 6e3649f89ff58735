"""Persistence: the DynamoDB table (collections, faces, users, video jobs: the source of truth) and the service's
S3 objects (embedding segments, video job results); also the callers' input objects and the notice channel.

The key schema lives in `keys`, the item shapes in the repositories, and callers only ever see the frozen
records of `records`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from facesearch.storage.collections import CollectionRepo
from facesearch.storage.faces import FaceRepo
from facesearch.storage.indexed_images import IndexedImage, IndexedImageRepo
from facesearch.storage.keys import collection_partitions
from facesearch.storage.records import Collection, FaceRecord, Page, SegmentRef, UserRecord
from facesearch.storage.requests import RequestLog, RequestRecord
from facesearch.storage.retry import StaleRead, retry_on_stale
from facesearch.storage.segments import SegmentObjects
from facesearch.storage.table import Table
from facesearch.storage.users import UserConflict, UserRepo
from facesearch.storage.video_jobs import VideoJobRepo
from facesearch.storage.video_objects import VideoObjects

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client


@dataclass(frozen=True)
class Storage:
    collections: CollectionRepo
    faces: FaceRepo
    users: UserRepo
    indexed_images: IndexedImageRepo
    requests: RequestLog
    segments: SegmentObjects
    video_jobs: VideoJobRepo
    video_objects: VideoObjects

    @classmethod
    def connect(cls, dynamodb: DynamoDBClient, s3: S3Client, table_name: str, bucket: str) -> Storage:
        table = Table(dynamodb, table_name)
        collections = CollectionRepo(table)
        return cls(collections, FaceRepo(table, collections), UserRepo(table, collections), IndexedImageRepo(table),
                   RequestLog(table), SegmentObjects(s3, bucket), VideoJobRepo(table), VideoObjects(s3, bucket))

    def forget(self, collection: Collection) -> None:
        """Remove the face and user items a deleted collection left behind (its objects are the index's)."""
        for partition in collection_partitions(collection.uid):
            self.collections.table.delete_partition(partition)


__all__ = [
    "Collection", "CollectionRepo", "FaceRecord", "FaceRepo", "IndexedImage", "IndexedImageRepo", "Page", "RequestLog",
    "RequestRecord", "SegmentObjects", "SegmentRef", "StaleRead", "Storage", "UserConflict", "UserRecord", "UserRepo",
    "retry_on_stale",
]
