"""Error kinds the app must survive, shown as one plain sentence: a rate limit
(429 with a Retry-After longer than the client waits, from the fault server)
and corrupt layers (bytes that are no archive, a gzip cut short, pushed to the
real registry). The app keeps what it listed and keeps running."""

from __future__ import annotations

import gzip
import inspect
import io
import typing
from pathlib import Path
from typing import Any

import pytest
from bed.faults import FaultServer, Status
from bed.images import LayerSpec, push_image
from tui_images import APP, BASE, layer, many_items
from tui_pilot import labels, listed, run, tree_of, truth_paths, wait_for

from layerslayer_tui.errors import LayerFormatError, LayerslayerError, RateLimitedError
from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.messages import Failed
from layerslayer_tui.tui.text import size
from layerslayer_tui.tui.widgets.layer_list import LayerList

pytestmark = pytest.mark.registry

GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
RATE_LIMIT = Status(429, {"Retry-After": "3600"})  # far beyond RetryPolicy.max_retry_after: not waited for


@pytest.fixture(autouse=True)
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def one_sentence(text: str) -> bool:
    return text.endswith(".") and "\n" not in text and "Traceback" not in text


def error_of(call: Any) -> LayerslayerError:
    try:
        call()
    except LayerslayerError as err:
        return err
    raise AssertionError("no error")


def tree_paths(app: LayerslayerApp, index: int) -> set[str]:
    return {n.path for n in app.workspace.tree(index).walk()}


async def error_shown(pilot: Any, expected: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.status_text.startswith("Error"), f"the error {expected!r}")
    assert app.status_text == "Error: " + expected
    assert [n.message for n in app._notifications] == [expected]
    assert one_sentence(expected)


def test_rate_limit_shows_one_sentence_and_keeps_the_listing(fault_server: FaultServer, tmp_path: Path) -> None:
    base, top = layer(BASE), layer(APP)
    fault_server.add_image("rl/app", "1", [base, top])
    fault_server.add_image("rl/other", "1", [base])
    ref = f"{fault_server.host}/rl/app:1"
    other = f"{fault_server.host}/rl/other:1"
    with Session(cache_path=tmp_path / "c.sqlite3", timeout=5.0) as session:
        # what the client says for each, asked outside the app
        image = session.open_image(ref)
        fault_server.fail("blob", RATE_LIMIT)
        blob_err = error_of(lambda: list(session.listing(image, 1)))
        fault_server.fail("manifest", RATE_LIMIT)
        load_err = error_of(lambda: session.open_image(other))
        assert isinstance(blob_err, RateLimitedError) and blob_err.retry_after == 3600
        assert isinstance(load_err, RateLimitedError) and "3600 seconds" in str(load_err)

    with Session(cache_path=tmp_path / "app.sqlite3", timeout=5.0) as session:
        app = LayerslayerApp(ref, session=session)

        async def body(pilot: Any) -> None:
            await wait_for(pilot, listed(app, 0), "layer 0")
            tree = tree_of(app)
            before = labels(tree.root)
            assert tree_paths(app, 0) == truth_paths(base)

            # a rate-limited layer
            fault_server.fail("blob", RATE_LIMIT)
            app.query_one(LayerList).highlight_layer(1)
            await error_shown(pilot, str(blob_err))
            assert app.layer == 1 and 1 in app.finished
            app.query_one(LayerList).highlight_layer(0)
            await pilot.pause()
            assert labels(tree.root) == before and tree_paths(app, 0) == truth_paths(base)

            # a rate-limited reference: the open image stays
            app.clear_notifications()
            fault_server.fail("manifest", RATE_LIMIT)
            app.load(other)
            await error_shown(pilot, str(load_err))
            assert app.image.reference == image.reference and labels(tree.root) == before

            # and the app keeps working once the registry lets it: f lists layer 1
            app.query_one(LayerList).highlight_layer(1)
            await pilot.pause()
            app.query_one(LayerList).focus()
            await pilot.press("f")
            await wait_for(pilot, lambda: app.workspace.is_complete(1) and 1 in app.finished, "layer 1 after the limit")
            assert tree_paths(app, 1) == truth_paths(top)

        run(app, body)


@pytest.fixture(scope="module")
def corrupt(registry) -> tuple[Any, bytes, bytes]:
    """demo/corrupt:1 - a good base layer, one that is no archive at all, and a gzip cut in half."""
    junk = b"this is not a layer, whatever its media type says\n" * 40
    whole = layer(many_items(300))
    cut = whole[: len(whole) // 2]
    pushed = push_image(
        registry,
        "demo/corrupt",
        "1",
        [
            layer(BASE),
            LayerSpec(junk, media_type=GZIP_LAYER, diff_id="sha256:" + "1" * 64),
            LayerSpec(cut, media_type=GZIP_LAYER, diff_id="sha256:" + "2" * 64),
        ],
    )
    return pushed, whole, cut


def test_corrupt_layers_show_one_sentence_and_keep_the_listing(corrupt: tuple[Any, bytes, bytes], tmp_path: Path) -> None:
    pushed, whole, cut = corrupt
    with Session(cache_path=tmp_path / "c.sqlite3") as session:
        image = session.open_image(pushed.ref)
        junk_err = error_of(lambda: list(session.listing(image, 1)))
        assert isinstance(junk_err, LayerFormatError)
    with Session(cache_path=tmp_path / "app.sqlite3") as session:
        app = LayerslayerApp(pushed.ref, session=session)

        async def body(pilot: Any) -> None:
            await wait_for(pilot, listed(app, 0), "layer 0")
            tree = tree_of(app)
            before = labels(tree.root)
            layers = app.query_one(LayerList)

            # bytes that are no archive: an error, and layer 0 stays as it was
            layers.highlight_layer(1)
            await error_shown(pilot, str(junk_err))
            layers.highlight_layer(0)
            await pilot.pause()
            assert labels(tree.root) == before and tree_paths(app, 0) == truth_paths(pushed.layers[0].data)

            # a gzip cut short: what it holds is listed, and the status says the layer ends early
            app.clear_notifications()
            layers.highlight_layer(2)
            await wait_for(pilot, listed(app, 2), "layer 2")
            progress = app.workspace.progress(2)
            assert not progress.complete and progress.compressed_read == len(cut)
            shown = {n.path for n in app.workspace.tree(2).walk()}
            whole_truth = truth_paths(whole)
            assert shown and shown < whole_truth  # a true prefix: nothing made up, not all of it
            with gzip.GzipFile(fileobj=io.BytesIO(cut)) as short:
                with pytest.raises(EOFError):
                    short.read()  # the blob really is cut short
            sentence = progress.note
            assert one_sentence(sentence)
            assert app.status_text == (
                f"Listed layer 2: {size(len(cut))} of {size(len(cut))}, "
                f"{progress.entries:,} entries, incomplete. {sentence}"
            )
            assert [n.message for n in app._notifications] == [sentence]
            assert tree.root.children[-1].label.plain == "… the layer ends here: its archive is cut short"
            assert tree.border_subtitle == "cut short"
            await pilot.press("f")
            assert app.status_text == "Layer 2 was read to its end: its archive is cut short, there is nothing more to list."
            assert "incomplete" in app.query_one("#details").render().plain

        run(app, body)


def test_failed_takes_any_exception_and_holds_a_layerslayer_error() -> None:
    """Workers hand Failed whatever they caught: the signature says so, and
    `error` is always the one-sentence LayerslayerError the screen shows."""
    params = inspect.signature(Failed, eval_str=True).parameters
    assert list(params)[:2] == ["what", "caught"]
    assert params["caught"].annotation.type is Exception
    assert typing.get_type_hints(Failed)["error"] is LayerslayerError

    bug = Failed("listing layer 2", KeyError("size"), None, 2)
    assert type(bug.error) is LayerslayerError and bug.layer == 2
    assert str(bug.error) == "Unexpected failure while listing layer 2: KeyError: 'size'."
    known = RateLimitedError("The registry asks us to slow down.")
    assert Failed("loading x", known).error is known
