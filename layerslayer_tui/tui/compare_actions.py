"""c: compare the open image with a second reference. Fetches the
repository's tags (to suggest them) in a worker, asks for B, then opens
`screens.compare.CompareScreen`, which does the rest."""

from __future__ import annotations

from typing import Any

from layerslayer_tui.image import ImageInfo

from .screens.compare import CompareScreen, ReferencePrompt


def start_compare(app: Any) -> None:
    image = app.image
    if image is None or app.session is None:
        app.set_status("Open an image first, then press c to compare it with another.")
        return
    app.set_status(f"Listing the tags of {image.repository} …")
    app.run_worker(lambda: _tags_then_prompt(app, image), thread=True, exclusive=True, group="compare-tags")


def _tags_then_prompt(app: Any, image: ImageInfo) -> None:
    try:
        tags = app.session.tags(image)
    except Exception:  # noqa: BLE001 - offline or refused: the prompt still works, without suggestions
        tags = []
    app.call_from_thread(_prompt, app, image, tags)


def _prompt(app: Any, image: ImageInfo, tags: list[str]) -> None:
    app.set_status(f"{len(tags)} tags in {image.repository}." if tags else "Type the image to compare with.")

    def chosen(value: str | None) -> None:
        text = (value or "").strip()
        if not text or text.endswith(":"):
            app.set_status("No image to compare with.")
            return
        app.push_screen(CompareScreen(app.session, image, text))

    app.push_screen(ReferencePrompt(image, tags), chosen)
