"""p: switch the image on screen to another of its platforms (the picker
came back only by typing the reference again)."""

from __future__ import annotations

from typing import Any

from .screens.platform import PlatformScreen


def switch_platform(app: Any) -> None:
    image = app.image
    if image is None:
        return
    if len(image.platforms) < 2:
        one = f" ({image.platform})" if image.platform is not None else ""
        app.set_status(f"{image.reference} has one platform{one}: there is none to switch to.")
        return
    screen = PlatformScreen(image.reference, image.platforms)
    current = next((i for i, p in enumerate(image.platforms) if p == image.platform), None)
    if current is not None:
        screen.selected = current

    def chosen(index: int | None) -> None:
        if index is None:
            app.set_status(f"Still on {image.platform}.")
            return
        platform = image.platforms[index]
        if platform == image.platform:
            app.set_status(f"Already on {platform}.")
            return
        app.load(image.reference, platform)

    app.push_screen(screen, chosen)
