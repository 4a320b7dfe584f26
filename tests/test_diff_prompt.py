"""The compare prompt (c): what it offers from the registry's tag list."""

from __future__ import annotations

from layerslayer_tui.image import ImageInfo


def test_the_compare_prompt_suggests_only_well_formed_tags() -> None:
    from layerslayer_tui.tui.screens.compare import ReferencePrompt

    img = ImageInfo("reg.example", "org/app", "reg.example/org/app:1", "sha256:m", "mt", "sha256:c", {}, [], [],
                    True, tag="1")
    prompt = ReferencePrompt(img, ["1", "2", "\x1b[2Jevil", "a b", "x" * 200, "v1.0_rc-2"])
    assert prompt.suggestions == ["reg.example/org/app:2", "reg.example/org/app:v1.0_rc-2"]
    assert "\x1b" not in prompt.hint
