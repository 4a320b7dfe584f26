"""Real CNCF distribution registry processes for tests and benchmarks.

`RegistryServer(flavour="anon"|"basic"|"token", storage_dir=None)` is a plain
context manager (benchmarks use it without pytest): `.host`, `.url`,
`.username`/`.password`, `.token_server` (bed._tokens.TokenServer, token
flavour), `.blob_path(digest)`, `.access_log(since, until=pred)`, `.log_mark()`,
`.wait_for_request(method, text, since)`.

Session fixtures, started lazily: `registry`, `registry_basic`,
`registry_token`, `registry_redirect` (bed._redirect.RedirectSetup in front of
the token registry) and `registry_redirect_anon` (in front of `registry`)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

from bed._http import Running

SERVICE = "layerslayer-test-registry"
ISSUER = "layerslayer-test-issuer"
DEFAULT_USER = "tester"
DEFAULT_PASSWORD = "s3cret-pass"
SKIP_ENV = "LAYERSLAYER_SKIP_REGISTRY"


class RegistryUnavailable(RuntimeError):
    """The registry binary is not installed."""


def registry_binary() -> str:
    for name in ("docker-registry", "registry"):
        path = shutil.which(name)
        if path:
            return path
    raise RegistryUnavailable(
        "The distribution registry is not installed: install the Debian package "
        "docker-registry (apt-get install docker-registry), or put a `registry` binary on PATH."
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class AccessRecord:
    """One request as the registry logged it."""

    method: str
    path: str  # request URI, query included
    status: int
    written: int  # http.response.written: body bytes the registry sent
    fields: dict  # the JSON "response completed" fields ({} for auth refusals)

    @property
    def is_blob_get(self) -> bool:
        return self.method == "GET" and "/blobs/sha256:" in self.path


class RegistryServer(Running):
    """One `docker-registry serve` process on a free loopback port.

    flavour: "anon" (no auth), "basic" (htpasswd, bcrypt), "token" (bearer
    tokens from a TokenServer on another loopback port, configured like Docker
    Hub: anonymous pull except under `private/`)."""

    def __init__(
        self,
        flavour: str = "anon",
        storage_dir: str | os.PathLike[str] | None = None,
        *,
        username: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        token_expires_in: int = 300,
    ) -> None:
        if flavour not in ("anon", "basic", "token"):
            raise ValueError(f"unknown registry flavour {flavour!r}")
        self.flavour = flavour
        self.username: str | None = username if flavour != "anon" else None
        self.password: str | None = password if flavour != "anon" else None
        self._given_storage = Path(storage_dir) if storage_dir is not None else None
        self._token_expires_in = token_expires_in
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Path | None = None
        self.token_server = None  # bed._tokens.TokenServer for the token flavour
        self.port = 0
        self.storage_dir: Path | None = None

    # -- addresses -----------------------------------------------------------
    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def registry(self) -> RegistryServer:
        """Itself, so code written for a redirect front also takes a registry."""
        return self

    def blob_path(self, digest: str) -> Path:
        """Where the filesystem driver keeps a blob's bytes."""
        assert self.storage_dir is not None
        algo, hexd = digest.split(":", 1)
        return self.storage_dir / "docker/registry/v2/blobs" / algo / hexd[:2] / hexd / "data"

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> RegistryServer:
        binary = registry_binary()
        self._workdir = Path(tempfile.mkdtemp(prefix=f"llreg-{self.flavour}-"))
        self.storage_dir = self._given_storage or (self._workdir / "storage")
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        auth = self._auth_config()
        last_error = ""
        # A free port can be taken between probe and bind by a parallel run: retry.
        for _attempt in range(5):
            self.port = free_port()
            config = self._workdir / "config.yml"
            config.write_text(json.dumps(self._config(auth), indent=2))  # JSON is YAML
            self._log_file = self._workdir / f"registry-{self.port}.log"
            log = open(self._log_file, "wb")
            self._proc = subprocess.Popen(
                [binary, "serve", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            log.close()
            ok, last_error = self._wait_ready()
            if ok:
                return self
            self._kill()
        self.stop()
        raise RuntimeError(f"the registry did not start: {last_error}")

    def _config(self, auth: dict | None) -> dict:
        cfg: dict = {
            "version": 0.1,
            "log": {
                "level": "info",
                "formatter": "json",
                "accesslog": {"disabled": False},
                "fields": {"service": "registry"},
            },
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage_dir)},
                "delete": {"enabled": True},
                "redirect": {"disable": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": f"127.0.0.1:{self.port}",
                "secret": secrets.token_hex(16),
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
            "health": {"storagedriver": {"enabled": False}},
            # Foreign layers (descriptor `urls`) are refused unless some URL is allowed.
            "validation": {"manifests": {"urls": {"allow": ["^https?://"]}}},
        }
        if auth:
            cfg["auth"] = auth
        return cfg

    def _auth_config(self) -> dict | None:
        assert self._workdir is not None
        if self.flavour == "basic":
            import bcrypt

            hashed = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=5)).decode()
            htpasswd = self._workdir / "htpasswd"
            htpasswd.write_text(f"{self.username}:{hashed}\n")
            return {"htpasswd": {"realm": "layerslayer-basic", "path": str(htpasswd)}}
        if self.flavour == "token":
            from bed._tokens import TokenServer

            self.token_server = TokenServer(
                users={self.username: self.password},
                service=SERVICE,
                issuer=ISSUER,
                expires_in=self._token_expires_in,
            ).start()
            bundle = self._workdir / "token-ca.pem"
            bundle.write_bytes(self.token_server.cert_pem)
            return {
                "token": {
                    "realm": self.token_server.realm,
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(bundle),
                }
            }
        return None

    def _wait_ready(self, timeout: float = 20.0) -> tuple[bool, str]:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False, f"exited with {self._proc.returncode}: {self._log_tail()}"
            try:
                r = requests.get(f"{self.url}/v2/", timeout=2, headers={"User-Agent": _PROBE_AGENT})
                if r.status_code in (200, 401):
                    return True, ""
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False, f"no answer on {self.url}/v2/ after {timeout:.0f}s: {self._log_tail()}"

    def _log_tail(self) -> str:
        if self._log_file and self._log_file.exists():
            return self._log_file.read_text(errors="replace")[-1500:]
        return ""

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self) -> None:
        self._kill()
        if self.token_server is not None:
            self.token_server.stop()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


    # -- access log ----------------------------------------------------------
    def access_log(
        self,
        since: int = 0,
        *,
        until: Callable[[list[AccessRecord]], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[AccessRecord]:
        """Requests the registry logged, oldest first, from index `since`.

        The registry writes a line just after it sends the response, so a test
        that has just read a response may race it: pass `until` (a predicate
        on the returned records) to wait, bounded by `timeout`, until it holds."""
        deadline = time.monotonic() + timeout
        while True:
            records = self._parse_log()[since:]
            if until is None or until(records) or time.monotonic() > deadline:
                return records
            time.sleep(0.02)

    def log_mark(self) -> int:
        """The current end of the access log, to pass as `since` later."""
        return len(self._parse_log())

    def wait_for_request(
        self, method: str, path_contains: str, since: int = 0, timeout: float = 10.0
    ) -> AccessRecord:
        """The first logged request (from `since`) with this method whose URI contains the text."""

        def match(recs: list[AccessRecord]) -> list[AccessRecord]:
            return [r for r in recs if r.method == method and path_contains in r.path]

        records = self.access_log(since, until=lambda recs: bool(match(recs)), timeout=timeout)
        found = match(records)
        if not found:
            raise AssertionError(f"the registry logged no {method} {path_contains} (saw {records})")
        return found[0]

    def _parse_log(self) -> list[AccessRecord]:
        """One record per Apache-style access line (every request, 401s included),
        enriched with the JSON "response completed" line of the same request
        when there is one (auth refusals only get the access line)."""
        if self._log_file is None or not self._log_file.exists():
            return []
        pending: dict[tuple[str, str], deque[dict]] = defaultdict(deque)
        out: list[AccessRecord] = []
        for line in self._log_file.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if "http.response.status" in rec and "http.request.method" in rec:
                    pending[(rec["http.request.method"], rec.get("http.request.uri", ""))].append(rec)
                continue
            m = _ACCESS_LINE.match(line)
            if not m or m["ua"] == _PROBE_AGENT:
                continue
            method, uri = m["method"], m["uri"]
            queue = pending.get((method, uri))
            fields = queue.popleft() if queue else {}
            written = fields.get("http.response.written")
            out.append(
                AccessRecord(
                    method=method,
                    path=uri,
                    status=int(m["status"]),
                    written=int(written if written is not None else m["size"]),
                    fields=fields,
                )
            )
        return out


_PROBE_AGENT = "layerslayer-bed-probe"
_ACCESS_LINE = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<uri>\S+) [^"]*" (?P<status>\d{3}) (?P<size>\d+)'
    r' "[^"]*" "(?P<ua>[^"]*)"'
)


# -- pytest fixtures ----------------------------------------------------------


def _start(factory: Callable[[], object]) -> object:
    if os.environ.get(SKIP_ENV) == "1":
        try:
            registry_binary()
        except RegistryUnavailable as exc:
            pytest.skip(f"{exc} ({SKIP_ENV}=1)")
    try:
        return factory().start()  # type: ignore[attr-defined]
    except RegistryUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


def _serve(factory: Callable[[], object]) -> Iterator[object]:
    server = _start(factory)
    try:
        yield server
    finally:
        server.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def registry() -> Iterator[RegistryServer]:
    """An anonymous registry (push and pull without credentials)."""
    yield from _serve(lambda: RegistryServer("anon"))  # type: ignore[misc]


@pytest.fixture(scope="session")
def registry_basic() -> Iterator[RegistryServer]:
    """A registry behind htpasswd Basic auth (`.username` / `.password`)."""
    yield from _serve(lambda: RegistryServer("basic"))  # type: ignore[misc]


@pytest.fixture(scope="session")
def registry_token() -> Iterator[RegistryServer]:
    """A registry with Docker-Hub-style bearer tokens; `.token_server` records token requests."""
    yield from _serve(lambda: RegistryServer("token"))  # type: ignore[misc]


@pytest.fixture(scope="session")
def registry_redirect(registry_token: RegistryServer):
    """A front that forwards to the token registry but answers blob GETs with 307
    to a second loopback host (127.0.0.2) that serves the bytes with Range."""
    from bed._redirect import RedirectSetup

    setup = RedirectSetup(registry_token).start()
    try:
        yield setup
    finally:
        setup.stop()


@pytest.fixture(scope="session")
def registry_redirect_anon(registry: RegistryServer):
    """The same redirecting front, in front of the anonymous registry."""
    from bed._redirect import RedirectSetup

    setup = RedirectSetup(registry).start()
    try:
        yield setup
    finally:
        setup.stop()
