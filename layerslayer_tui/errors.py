"""The errors a user can meet. Each message is one plain sentence fit for the
status line or stderr; nothing here carries a traceback to the screen."""

from __future__ import annotations


class LayerslayerError(Exception):
    """Base of every error the app shows to a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidReferenceError(LayerslayerError):
    """The image reference text cannot be parsed."""


class AuthError(LayerslayerError):
    """Credentials are missing, wrong or were refused."""


class NotFoundError(LayerslayerError):
    """The repository, tag, manifest or blob does not exist (or is hidden)."""


class RateLimitedError(LayerslayerError):
    """The registry refused because of a rate limit, even after waiting."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NetworkError(LayerslayerError):
    """The connection failed, timed out or dropped beyond what retries mend."""


class ProtocolError(LayerslayerError):
    """The registry answered something that breaks the protocol or the specs
    (bad digest, wrong Content-Range, schema1 manifest, not an image...)."""


class LayerFormatError(LayerslayerError):
    """The layer bytes are not a readable (compressed) tar stream."""


class ExportError(LayerslayerError):
    """An export or a save could not be written."""


class CacheError(LayerslayerError):
    """The listing cache cannot be used; the app runs on without it."""


class OfflineError(LayerslayerError):
    """Offline mode asked for something the cache does not hold."""
