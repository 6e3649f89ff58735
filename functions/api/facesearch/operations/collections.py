"""CreateCollection, DescribeCollection, ListCollections, DeleteCollection and collection tags."""

from __future__ import annotations

from typing import Any

from facesearch.errors import ResourceNotFoundException, ServiceQuotaExceededException
from facesearch.operations import pagination
from facesearch.operations.registry import Request, operation
from facesearch.services import Services
from facesearch.storage import Collection
from facesearch.vision import FACE_MODEL_VERSION

DEFAULT_PAGE_SIZE = 1000
MAX_TAGS = 50  # Rekognition's per-resource tag quota


def collection_arn(services: Services, collection_id: str) -> str:
    """Rekognition's form: CreateCollection answers it without the `arn:` prefix."""
    settings = services.settings
    return f"aws:rekognition:{settings.region}:{settings.account_id}:collection/{collection_id}"


@operation("CreateCollection")
def create_collection(services: Services, request: Request) -> dict[str, Any]:
    tags = request.get("Tags") or {}
    if len(tags) > MAX_TAGS:
        raise ServiceQuotaExceededException(f"A collection can have at most {MAX_TAGS} tags.")
    collection_id = request["CollectionId"]
    created = services.storage.collections.create(
        collection_id, collection_arn(services, collection_id), FACE_MODEL_VERSION, tags
    )
    return {"StatusCode": 200, "CollectionArn": created.arn, "FaceModelVersion": created.face_model_version}


@operation("DescribeCollection")
def describe_collection(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    return {
        "FaceCount": collection.face_count,
        "UserCount": collection.user_count,
        "FaceModelVersion": collection.face_model_version,
        "CollectionARN": "arn:" + collection.arn,
        "CreationTimestamp": collection.created_at,
    }


@operation("ListCollections")
def list_collections(services: Services, request: Request) -> dict[str, Any]:
    """The collections the caller's key may use (a key limited to some collections lists only those)."""
    limit = request.get("MaxResults") or DEFAULT_PAGE_SIZE
    key = services.caller
    listed, token = pagination.paged(request.get("NextToken"), "ListCollections", "",
                                     services.storage.collections.page, lambda entry: entry[0], limit,
                                     keep=lambda entry: key is None or key.allows_collection(entry[0]))
    result: dict[str, Any] = {
        "CollectionIds": [collection_id for collection_id, _ in listed],
        "FaceModelVersions": [version for _, version in listed],
    }
    if token:
        result["NextToken"] = token
    return result


@operation("DeleteCollection")
def delete_collection(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.delete(request["CollectionId"])
    services.index.drop(collection)
    services.storage.forget(collection)
    return {"StatusCode": 200}


def _collection_for_arn(services: Services, arn: str) -> Collection:
    collection_id = arn.rsplit(":collection/", 1)[1] if ":collection/" in arn else None
    collection = services.storage.collections.find(collection_id) if collection_id else None
    if collection is None or arn.removeprefix("arn:") != collection.arn:
        raise ResourceNotFoundException(f"The resource {arn} does not exist.")
    return collection


@operation("TagResource")
def tag_resource(services: Services, request: Request) -> dict[str, Any]:
    collection = _collection_for_arn(services, request["ResourceArn"])
    if len(set(collection.tags) | set(request["Tags"])) > MAX_TAGS:
        raise ServiceQuotaExceededException(f"A collection can have at most {MAX_TAGS} tags.")
    if request["Tags"]:
        services.storage.collections.set_tags(collection.collection_id, request["Tags"])
    return {}


@operation("UntagResource")
def untag_resource(services: Services, request: Request) -> dict[str, Any]:
    collection = _collection_for_arn(services, request["ResourceArn"])
    present = [key for key in request["TagKeys"] if key in collection.tags]
    if present:
        services.storage.collections.remove_tags(collection.collection_id, present)
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(services: Services, request: Request) -> dict[str, Any]:
    return {"Tags": dict(_collection_for_arn(services, request["ResourceArn"]).tags)}
