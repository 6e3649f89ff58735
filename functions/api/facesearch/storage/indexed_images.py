"""Indexed images: which faces an IndexFaces of one image (and external id) stored, so that the same image
indexed again, or a retried request whose answer was lost, stores no duplicate faces."""

from __future__ import annotations

from dataclasses import dataclass

from facesearch.storage import keys
from facesearch.storage.table import Action, Table


@dataclass(frozen=True)
class IndexedImage:
    digest: str  # sha256 of the image bytes
    external_image_id: str | None
    image_id: str
    face_ids: tuple[str, ...]  # in the order IndexFaces returned them


class IndexedImageRepo:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, uid: str, digest: str, external_image_id: str | None) -> IndexedImage | None:
        values = self.table.get(keys.image_key(uid, digest, external_image_id))
        if values is None:
            return None
        return IndexedImage(digest, external_image_id, values["ImageId"], tuple(values.get("FaceIds") or ()))

    def put_action(self, uid: str, image: IndexedImage) -> Action:
        """Part of the commit of the image's faces; fails if a twin request committed first."""
        item = {**keys.image_key(uid, image.digest, image.external_image_id), "ImageId": image.image_id,
                "FaceIds": list(image.face_ids)}
        return self.table.put_action(item, "attribute_not_exists(pk)")

    def forget(self, uid: str, image: IndexedImage) -> None:
        """Drop the record of an image whose faces are all gone, so indexing it again stores them anew."""
        self.table.delete(keys.image_key(uid, image.digest, image.external_image_id))
