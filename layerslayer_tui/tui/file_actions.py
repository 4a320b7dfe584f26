"""Keys on the selected file: v views it, s saves it into a folder (never
outside it, never silently overwriting). The bytes are carved from the layer
stream in a worker. Mixed into `LayerslayerApp`."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from textual import work

from layerslayer_tui.errors import ExportError, LayerslayerError
from layerslayer_tui.image import ImageInfo

from .messages import Failed, Progress
from .saving import publish, save_link, temp_beside
from .screens.dialogs import ConfirmScreen, PromptScreen
from .screens.viewer import ViewerScreen
from .text import size
from .widgets.file_tree import FileTree

VIEW_CAP = 16 * 1024 * 1024  # bytes of a file the viewer carves


def carved_content(carved: Any) -> tuple[bytes, str]:
    """The bytes and a note (truncated, symlink...) from a peek.Carved."""
    data = carved.content or b""
    note = ""
    if carved.target is not None:
        note = f"symlink to {carved.target}"
    elif carved.resolved is not None and carved.resolved is not carved.entry:
        note = f"hard link to {carved.resolved.path}"
    if carved.truncated:
        note = (note + "; " if note else "") + f"only the first {size(len(data))} shown"
    return bytes(data), note


def save_name(name: str) -> str:
    """A file name safe to create: no separators, no dot-dot, controls removed."""
    cleaned = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", name).strip()
    if cleaned in ("", ".", ".."):
        cleaned = "file"
    return cleaned


def safe_destination(folder: Path, name: str) -> Path:
    """folder/name, refusing anything that would land outside folder."""
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder.")
    base = folder.resolve()
    dest = base / name
    if dest.parent.resolve() != base or Path(os.path.normpath(dest)).parent != base:
        raise ExportError(f"{name} would be written outside {folder}.")
    if dest.is_symlink():
        target = dest.resolve()
        if target.parent != base:
            raise ExportError(f"{dest} is a symlink pointing outside {folder}.")
    return dest


class FileActionsMixin:
    """v and s on the file under the tree's cursor."""

    def _selected_file(self, what: str) -> Any:
        node = self.query_one(FileTree).selected_node
        if self.image is None or node is None:
            self.set_status(f"Select a file in the tree to {what} it.")
            return None
        if node.is_dir or node.is_removal:
            self.set_status(f"{node.path} is not a file.")
            return None
        return node

    def _node_layer(self, node: Any) -> int | None:
        if node.layer_index is not None:
            return node.layer_index
        return self.layer

    @staticmethod
    def _member(node: Any) -> str:
        """The name to read from the layer: the member's name as stored. In the
        merged view an unsafe name is shown where a runtime puts it (clamped
        into the root), but the layer only knows it by its stored name."""
        return node.entry.path if node.entry is not None else node.path

    def action_view_file(self) -> None:
        node = self._selected_file("view")
        if node is None:
            return
        self.set_status(f"Reading {node.path} …")
        self._carve(self.image, self._node_layer(node), self._member(node))

    @work(thread=True, exclusive=True, group="carve")
    def _carve(self, image: ImageInfo, layer: int, path: str) -> None:
        try:
            carved = self.session.carve(image, layer, path, cap=VIEW_CAP)
        except Exception as err:  # noqa: BLE001 - Failed puts a bug's exception in one sentence
            self.post_message(Failed(f"reading {path}", err))
            return
        data, note = carved_content(carved)
        self.call_from_thread(self._show_file, path, data, note)

    def _show_file(self, path: str, data: bytes, note: str) -> None:
        self.set_status(f"{path}: {len(data):,} bytes.")
        self.push_screen(ViewerScreen(path, data, note))

    def action_save_file(self) -> None:
        node = self._selected_file("save")
        if node is None:
            return
        name = save_name(node.name)

        def chosen(value: str | None) -> None:
            if not value:
                return
            try:
                dest = safe_destination(Path(value.strip() or ".").expanduser(), name)
            except ExportError as err:
                self.show_error("saving", err)
                return
            if dest.exists() or dest.is_symlink():
                self.push_screen(ConfirmScreen(f"{dest} exists. Overwrite it?"), lambda yes: yes and self._save(node, dest, True))
            else:
                self._save(node, dest, False)

        self.push_screen(PromptScreen(f"Save {name} into folder", ".", f"The file is written as <folder>/{name}.", "folder"), chosen)

    def _save(self, node: Any, dest: Path, overwrite: bool) -> None:
        if node.kind == "symlink" and node.entry is not None:
            self._save_symlink(node, dest, overwrite)
            return
        self.set_status(f"Saving {node.path} to {dest} …")
        self._save_worker(self.image, self._node_layer(node), self._member(node), dest, overwrite)

    def _save_symlink(self, node: Any, dest: Path, overwrite: bool) -> None:
        """A symlink has no content of its own: it is saved as a symlink (its
        target as the layer holds it; nothing is read from the registry)."""
        target = node.entry.link or ""
        try:
            save_link(target, dest, overwrite)
        except LayerslayerError as err:
            self.show_error(f"saving {node.path}", err)
            return
        self.set_status(f"Saved {node.path} to {dest} as a symlink to {target} (the link only, not what it points to).")

    @work(thread=True, group="save")
    def _save_worker(self, image: ImageInfo, layer: int, path: str, dest: Path, overwrite: bool) -> None:
        tmp: Path | None = None
        try:
            tmp = temp_beside(dest)
            carved = self.session.carve(image, layer, path, dest=tmp)
            if carved.target is not None:  # the layer holds a symlink there: no content to write
                save_link(carved.target, dest, overwrite)
                self.post_message(Progress(f"Saved {path} to {dest} as a symlink to {carved.target}."))
                return
            publish(tmp, dest, overwrite)
        except LayerslayerError as err:
            self.post_message(Failed(f"saving {path}", err))
            return
        except OSError as err:
            self.post_message(Failed(f"saving {path}", ExportError(f"Cannot write {dest}: {err.strerror or err}.")))
            return
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        self.post_message(Progress(f"Saved {path} to {dest}."))
