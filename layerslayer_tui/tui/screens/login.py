"""The login dialog offered after a registry refused access: a user name and
a password or token, kept in memory for this session only."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from ..text import plain


class LoginScreen(ModalScreen[tuple[str, str] | None]):
    """Dismisses with (user, password or token), or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, registry: str, reason: str, source: str) -> None:
        super().__init__(classes="dialog-screen")
        self.registry = registry
        self.reason = reason
        self.source = source

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(f"Log in to {self.registry}", "bold"), classes="dialog-title")
            yield Label(plain(self.reason), classes="dialog-hint")
            yield Label(plain(f"Credentials used: {self.source}."), classes="dialog-hint", id="login-source")
            yield Input(placeholder="user name", id="login-user")
            yield Input(placeholder="password or token", password=True, id="login-secret")
            yield Label(plain(
                "Kept in memory for this session only, never written. For lasting credentials: "
                f"docker login {self.registry}", "dim"), classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Log in", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#login-user", Input).focus()

    def _answer(self) -> None:
        user = self.query_one("#login-user", Input).value.strip()
        secret = self.query_one("#login-secret", Input).value
        if not user or not secret:
            self.notify("Give a user name and a password or token (escape cancels).", severity="warning")
            self.query_one("#login-user" if not user else "#login-secret", Input).focus()
            return
        self.dismiss((user, secret))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "login-user" and not self.query_one("#login-secret", Input).value:
            self.query_one("#login-secret", Input).focus()
            return
        self._answer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._answer()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
