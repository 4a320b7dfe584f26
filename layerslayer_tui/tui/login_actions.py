"""After an authentication error: offer the login dialog, then retry what
failed (loading a reference, or listing a layer of an image opened from the
cache). Functions of the app, kept out of app.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from layerslayer_tui.errors import AuthError

from .screens.login import LoginScreen


def registry_of(reference: str) -> str | None:
    from layerslayer_tui.reference import parse
    from layerslayer_tui.sources import is_local

    if is_local(reference):
        return None
    try:
        return parse(reference).registry
    except Exception:  # noqa: BLE001 - a reference that does not parse has no registry to log in to
        return None


def offer_login(app: Any, registry: str, reason: str, retry: Callable[[], None]) -> None:
    """Push the login dialog; on an answer, log the session in and retry."""
    if isinstance(app.screen, LoginScreen):
        return  # one dialog at a time
    try:
        source = app.session.credential_source(registry)
    except Exception:  # noqa: BLE001 - the words are a hint; the dialog still helps
        source = "unknown"

    def answered(answer: tuple[str, str] | None) -> None:
        if answer is None:
            app.set_status(f"Not logged in to {registry}; `docker login {registry}` stores lasting credentials.")
            return
        app.session.login(registry, *answer)
        app.set_status(f"Logged in to {registry} as {answer[0]} (this session only); retrying …")
        retry()

    app.push_screen(LoginScreen(registry, reason, source), answered)


def auth_failed_loading(app: Any, reference: str, platform: Any, err: AuthError) -> None:
    registry = registry_of(reference)
    if registry is not None:
        offer_login(app, registry, str(err), lambda: app.load(reference, platform))


def auth_failed_listing(app: Any, image: Any, index: int, err: AuthError) -> None:
    """A layer's bytes refused: say when the image itself came from the cache."""
    reason = str(err)
    if image.from_cache:
        reason = (f"{image.reference} was opened from the cache, where no credentials are kept; "
                  f"reading layer {index} needs them. {reason}")
        app.set_status(f"{image.reference} is cached, but layer {index} needs login to read.", "yellow")

    def retry() -> None:
        if app.image is image:
            app.finished.discard(index)
            app.start_listing(index)

    offer_login(app, image.registry, reason, retry)
