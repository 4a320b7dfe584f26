"""The reference input's suggestions: recent references first, then, for
`oci:` / `oci-archive:` / `docker-archive:`, the local file or directory the
path being typed can complete to."""

from __future__ import annotations

from textual.suggester import Suggester

from layerslayer_tui.sources.complete import complete_path


class ReferenceSuggester(Suggester):
    def __init__(self, history: list[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # the disk changes: no cache
        self.history = history

    async def get_suggestion(self, value: str) -> str | None:
        for item in self.history:
            if item.startswith(value) and item != value:
                return item
        return complete_path(value)
