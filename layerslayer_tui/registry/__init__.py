"""The registry client: auth, manifests, platforms, history, blobs. Never
imports Textual and knows nothing of tar."""

from __future__ import annotations

from .blobs import BlobSource, BlobStream, RangeNotSatisfiableError
from .client import RegistryClient, client_for
from .credentials import Credentials
from ..image import Descriptor, HistoryStep, ImageInfo, LayerInfo, Platform
from .transport import RetryPolicy

__all__ = [
    "BlobSource",
    "BlobStream",
    "Credentials",
    "Descriptor",
    "HistoryStep",
    "ImageInfo",
    "LayerInfo",
    "Platform",
    "RangeNotSatisfiableError",
    "RegistryClient",
    "RetryPolicy",
    "client_for",
]
