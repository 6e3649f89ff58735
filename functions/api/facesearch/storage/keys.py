"""The DynamoDB key schema, and the only module that spells a partition or sort key.

One table with string keys `pk` / `sk`:

    pk=COLLECTIONS      sk=<CollectionId>   listing entry (CollectionId, FaceModelVersion)
    pk=C#<CollectionId> sk=META             Uid, Arn, CreatedAt, FaceModelVersion, FaceCount, UserCount,
                                            Tags, SegmentRefs {segment id: {Key, Count, Level}}
    pk=F#<Uid>          sk=<FaceId>         one face: ImageId, ExternalImageId, BoundingBox, Confidence,
                                            UserId, Embedding (float32 bytes), Segment, IndexedAt,
                                            ExternalKey = <Uid>#<ExternalImageId> (only when it has one)
    pk=U#<Uid>          sk=<UserId>         one user: CreatedAt, ClientRequestToken, FaceIds
    pk=I#<Uid>          sk=<sha256>#<ExternalImageId>   an indexed image: ImageId, FaceIds (IndexFaces
                                            answers a repeat of the same image and external id with these)
    pk=R#<Uid>          sk=<Operation>#<ClientRequestToken>   a request's digest and its answer
    pk=V#<JobId>        sk=JOB                  a stored-video job: Api, Status, request, VideoMetadata,
                                            segments done, result counts, Deadline, ExpiresAt (TTL)
    pk=VT#<Api>#<Token> sk=TOKEN                a Start* ClientRequestToken: JobId, Digest, ExpiresAt (TTL)
    pk=VIDEOJOBS        sk=RUNNING              how many jobs run now (Running), bounded by the job limit
    pk=VIDEOJOBS#RUNNING sk=<JobId>             one running job and its Deadline (a sweep ends the late ones)

Global secondary index `ByExternalImageId` (hash ExternalKey, range sk, keys only): sparse, as only faces
with an ExternalImageId carry ExternalKey; it finds a collection's faces of one ExternalImageId without
reading the partition. It costs one more write unit per face written or deleted that has an ExternalImageId
(about 150 bytes an entry) and is eventually consistent, so readers confirm its hits on the face items.

Faces and users hang off the collection's `Uid`, fresh for each CreateCollection, so a collection deleted
and created again never sees the old one's leftovers, even if a delete was cut short.
"""

from __future__ import annotations

LISTING_PK = "COLLECTIONS"
META_SK = "META"

Key = dict[str, str]


def collection_key(collection_id: str) -> Key:
    return {"pk": f"C#{collection_id}", "sk": META_SK}


def listing_key(collection_id: str) -> Key:
    return {"pk": LISTING_PK, "sk": collection_id}


def faces_partition(uid: str) -> str:
    return f"F#{uid}"


def face_key(uid: str, face_id: str) -> Key:
    return {"pk": faces_partition(uid), "sk": face_id}


EXTERNAL_INDEX = "ByExternalImageId"
EXTERNAL_KEY = "ExternalKey"


def external_key(uid: str, external_image_id: str) -> str:
    """The index key of a collection's faces of one ExternalImageId (the id's pattern has no `#`)."""
    return f"{uid}#{external_image_id}"


def users_partition(uid: str) -> str:
    return f"U#{uid}"


def user_key(uid: str, user_id: str) -> Key:
    return {"pk": users_partition(uid), "sk": user_id}


def image_key(uid: str, digest: str, external_image_id: str | None) -> Key:
    return {"pk": f"I#{uid}", "sk": f"{digest}#{external_image_id or ''}"}


def request_key(uid: str, operation: str, token: str) -> Key:
    return {"pk": f"R#{uid}", "sk": f"{operation}#{token}"}


def collection_partitions(uid: str) -> tuple[str, ...]:
    """Every partition that belongs to a collection's Uid (what DeleteCollection removes)."""
    return faces_partition(uid), users_partition(uid), f"I#{uid}", f"R#{uid}"


VIDEO_JOB_SK = "JOB"
RUNNING_PARTITION = "VIDEOJOBS#RUNNING"
EXPIRES_AT = "ExpiresAt"  # the table's TimeToLiveSpecification attribute (epoch seconds)


def video_job_key(job_id: str) -> Key:
    return {"pk": f"V#{job_id}", "sk": VIDEO_JOB_SK}


def video_token_key(api: str, token: str) -> Key:
    return {"pk": f"VT#{api}#{token}", "sk": "TOKEN"}


def running_jobs_key() -> Key:
    return {"pk": "VIDEOJOBS", "sk": "RUNNING"}


def running_job_key(job_id: str) -> Key:
    return {"pk": RUNNING_PARTITION, "sk": job_id}
