"""Keys that write the image out: e exports the tree on screen, d downloads
the selected layer blob (digest verified). Both ask before overwriting.
Mixed into `LayerslayerApp`."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from textual import work

from layerslayer_tui.errors import ExportError, LayerslayerError
from layerslayer_tui.image import ImageInfo

from .checks import valid_digest
from .messages import Failed, Progress
from .saving import publish, temp_beside
from .screens.dialogs import ConfirmScreen, PromptScreen
from .text import short_digest, size

PROGRESS_INTERVAL = 0.1  # seconds between download progress lines
BIG_EXPORT = 20_000  # entries in the view: an export this big is written by a worker thread


def _safe_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"


class ExportActionsMixin:
    """e (export the tree) and d (download the layer blob)."""

    def default_export_name(self) -> str:
        image = self.image
        assert image is not None
        repo = _safe_part(image.repository.rsplit("/", 1)[-1])
        tag = _safe_part(image.tag or short_digest(image.manifest_digest))
        which = "merged" if (self.layer is None or self.merged) else str(self.layer)
        return f"{repo}_{tag}_{which}.txt"

    def action_export(self) -> None:
        if self.image is None:
            return
        default = "./" + self.default_export_name()

        def chosen(value: str | None) -> None:
            if not value:
                return
            dest = Path(value.strip()).expanduser()
            if dest.exists():
                self.push_screen(ConfirmScreen(f"{dest} exists. Overwrite it?"), lambda yes: yes and self.export_to(dest, True))
            else:
                self.export_to(dest, False)

        self.push_screen(PromptScreen("Export the tree", default, "Format from the extension: .txt .json .csv .tar.txt", "path"), chosen)

    def export_to(self, dest: Path, overwrite: bool) -> Path | None:
        """Write the view on screen to dest; the path written, or None when it
        failed or, for a big view, goes on in a worker (the status line says
        when it is done)."""
        view = "merged" if (self.layer is None or self.merged) else "layer"
        if self.workspace is not None and self._view_entries() >= BIG_EXPORT:  # tree_view.TreeViewMixin
            # Walking and writing a million entries takes seconds: not on the UI
            # thread. The workspace's lock keeps the builder out meanwhile.
            self.set_status(f"Exporting to {dest} …")
            self._export_worker(self.workspace, dest, overwrite, view, self.layer, self.current_filter())
            return None
        try:
            written = self.workspace.export(dest, view=view, layer_index=self.layer, filter=self.current_filter(), overwrite=overwrite)
        except LayerslayerError as err:
            self.show_error("exporting", err)
            return None
        except OSError as err:
            self.show_error("exporting", ExportError(f"Cannot write {dest}: {err.strerror or err}."))
            return None
        self.set_status(f"Exported to {written}.")
        self.notify(f"Exported to {written}.", markup=False)
        return written

    @work(thread=True, group="export")
    def _export_worker(self, ws: Any, dest: Path, overwrite: bool, view: str, layer: int | None, flt: Any) -> None:
        try:
            written = ws.export(dest, view=view, layer_index=layer, filter=flt, overwrite=overwrite)
        except LayerslayerError as err:
            self.post_message(Failed("exporting", err))
            return
        except OSError as err:
            self.post_message(Failed("exporting", ExportError(f"Cannot write {dest}: {err.strerror or err}.")))
            return
        self.post_message(Progress(f"Exported to {written}."))
        self.call_from_thread(self.notify, f"Exported to {written}.", markup=False)

    def action_download(self) -> None:
        layer = self.layer_info(self.layer)
        if layer is None or self.image is None:
            self.set_status("Select a layer to download it.")
            return
        if not valid_digest(layer.digest):
            # The digest names the file and the blob's URL: an unchecked one could point anywhere.
            # (not echoed: it is untrusted text of any length)
            self.set_status(f"Layer {layer.index} has a malformed digest (expected sha256: and 64 lowercase hex digits),"
                            " so it is not downloaded.", "yellow")
            return
        ext = ".tar.zst" if "zstd" in layer.media_type else ".tar.gz" if "gzip" in layer.media_type else ".tar"
        default = f"./{short_digest(layer.digest)}{ext}"

        def chosen(value: str | None) -> None:
            if not value:
                return
            dest = Path(value.strip()).expanduser()
            if dest.exists() or dest.is_symlink():  # a dangling symlink is there too
                self.push_screen(ConfirmScreen(f"{dest} exists. Overwrite it?"), lambda yes: yes and self._download(layer.index, dest, True))
            else:
                self._download(layer.index, dest, False)

        self.push_screen(PromptScreen(f"Download layer {layer.index} ({size(layer.size)})", default, "The blob is saved compressed, digest verified.", "path"), chosen)

    def _download(self, index: int, dest: Path, overwrite: bool) -> None:
        self.set_status(f"Downloading layer {index} to {dest} …")
        self._download_worker(self.image, index, dest, overwrite)

    @work(thread=True, group="download")
    def _download_worker(self, image: ImageInfo, index: int, dest: Path, overwrite: bool) -> None:
        last = [0.0]

        def progress(done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                pct = f" ({100 * done / total:.0f} %)" if total else ""
                self.post_message(Progress(f"Downloading layer {index}: {size(done)} of {size(total)}{pct}"))

        tmp: Path | None = None
        try:
            # Downloaded beside dest, then moved there by export's no-clobber step:
            # whatever sits at dest (a dangling symlink too) stays unless the user said yes.
            tmp = temp_beside(dest)
            self.session.download_layer(image, index, tmp, progress=progress, overwrite=True)
            publish(tmp, dest, overwrite)
        except Exception as err:  # noqa: BLE001 - Failed puts a bug's exception in one sentence
            self.post_message(Failed(f"downloading layer {index}", err))
            return
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        self.post_message(Progress(f"Downloaded layer {index} to {dest} (digest verified)."))
