"""Rekognition's error shapes as exceptions, named exactly as the wire `__type` codes.

Every failure the service answers with is one of these; the handler turns them into
`{"__type": code, "Message": ...}` with `x-amzn-ErrorType` and the status below. Anything else
that escapes an operation is a bug and is answered as InternalServerError (500) without details.

    ServiceError
    ├── (modelled in botocore's Rekognition model)
    │   AccessDeniedException, ConflictException, IdempotentParameterMismatchException,
    │   ImageTooLargeException, InvalidImageFormatException, InvalidPaginationTokenException,
    │   InvalidParameterException, InvalidS3ObjectException, LimitExceededException,
    │   ProvisionedThroughputExceededException, ResourceAlreadyExistsException,
    │   ResourceInUseException, ResourceNotFoundException, ServiceQuotaExceededException,
    │   VideoTooLargeException, ThrottlingException (500), InternalServerError (500)
    ├── (modelled in the facesearch extension model only)
    │   FaceModelVersionMismatchException (an InvalidParameterException)
    └── (AWS JSON protocol and SigV4 errors every AWS service shares)
        UnknownOperationException, SerializationException, MissingAuthenticationTokenException,
        IncompleteSignatureException, UnrecognizedClientException, InvalidSignatureException
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service answers with; `code` is the wire `__type`."""

    status_code: int = 400
    only_in: str | None = None  # the one service model that defines this shape, when only one does

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__

    def code_in(self, service: str) -> str:
        """The wire `__type` in `service`'s model: a shape another model defines is answered as its nearest
        ancestor that this one knows (FaceModelVersionMismatchException is, on Rekognition's operations,
        the InvalidParameterException Rekognition would answer)."""
        for cls in type(self).__mro__:
            if issubclass(cls, ServiceError) and cls is not ServiceError and cls.only_in in (None, service):
                return cls.__name__
        return self.code


# --- errors modelled in botocore's Rekognition model -------------------------------------------


class AccessDeniedException(ServiceError):
    pass


class ConflictException(ServiceError):
    pass


class IdempotentParameterMismatchException(ServiceError):
    pass


class ImageTooLargeException(ServiceError):
    pass


class InvalidImageFormatException(ServiceError):
    pass


class InvalidPaginationTokenException(ServiceError):
    pass


class InvalidParameterException(ServiceError):
    pass


class InvalidS3ObjectException(ServiceError):
    pass


class LimitExceededException(ServiceError):
    pass


class ProvisionedThroughputExceededException(ServiceError):
    pass


class ResourceAlreadyExistsException(ServiceError):
    pass


class ResourceInUseException(ServiceError):
    pass


class ResourceNotFoundException(ServiceError):
    pass


class ServiceQuotaExceededException(ServiceError):
    pass


class VideoTooLargeException(ServiceError):
    pass


class ThrottlingException(ServiceError):
    status_code = 500


class InternalServerError(ServiceError):
    status_code = 500


# --- errors modelled only in the facesearch extension model (wire/models/facesearch) -----------


class FaceModelVersionMismatchException(InvalidParameterException):
    """Faces of another face model than the collection's: their embeddings cannot be compared."""

    only_in = "facesearch"


# --- errors of the AWS JSON protocol and of SigV4 (not in the model, shared by every service) ---


class UnknownOperationException(ServiceError):
    pass


class SerializationException(ServiceError):
    pass


class MissingAuthenticationTokenException(ServiceError):
    pass


class IncompleteSignatureException(ServiceError):
    pass


class UnrecognizedClientException(ServiceError):
    pass


class InvalidSignatureException(ServiceError):
    pass
