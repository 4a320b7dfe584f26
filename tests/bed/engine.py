"""A private Podman API service: `podman system service` on a socket in a
temporary directory, with its own storage root and runroot (vfs driver, no
systemd, file events), so the machine's own podman storage is never touched.
It serves the Docker-compatible API (`/images/{name}/get`), which is what
`docker-daemon:` and `podman:` sources read."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bed._http import Running


class EngineUnavailable(RuntimeError):
    """podman is missing or cannot run here."""


class PodmanService(Running):
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="layerslayer-podman-"))
        self.socket = self.dir / "podman.sock"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = self.dir / "service.log"

    @property
    def address(self) -> str:
        return f"unix://{self.socket}"

    def podman(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """podman with this service's private storage."""
        cmd = [
            "podman", "--root", str(self.dir / "root"), "--runroot", str(self.dir / "run"),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file", *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def load(self, archive: Path) -> str:
        """Load a docker-archive; returns the name podman gave the image."""
        done = self.podman("load", "-i", str(archive))
        if done.returncode != 0:
            raise EngineUnavailable(f"podman load failed: {done.stderr.strip()[-500:]}")
        for line in done.stdout.splitlines():
            if line.startswith("Loaded image"):
                return line.split(":", 1)[1].strip().split(",")[0].strip()
        raise EngineUnavailable(f"podman load named no image: {done.stdout[-300:]}")

    def start(self) -> PodmanService:
        if shutil.which("podman") is None:
            raise EngineUnavailable("podman is not installed (Debian package podman)")
        log = open(self._log, "wb")  # noqa: SIM115 - closed in stop()
        self._logfh = log
        self._proc = subprocess.Popen(
            ["podman", "--root", str(self.dir / "root"), "--runroot", str(self.dir / "run"),
             "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
             "system", "service", "--time=0", self.address],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EngineUnavailable(f"podman system service exited: {self._log.read_text(errors='replace')[-500:]}")
            if self._ping():
                return self
            time.sleep(0.1)
        self.stop()
        raise EngineUnavailable("podman system service did not answer on its socket within 30 s")

    def _ping(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(self.socket))
                s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.")
        except OSError:
            return False

    def images(self) -> list[dict]:
        done = self.podman("images", "--format", "json")
        return json.loads(done.stdout or "[]")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            self._logfh.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def podman_service() -> Iterator[PodmanService]:
    """A running private podman API service (skipped, with the reason, only when podman cannot run here)."""
    service = PodmanService()
    try:
        service.start()
    except EngineUnavailable as exc:
        shutil.rmtree(service.dir, ignore_errors=True)
        pytest.skip(f"podman cannot run here: {exc}")
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def engine_env(podman_service: PodmanService, monkeypatch: pytest.MonkeyPatch) -> PodmanService:
    """DOCKER_HOST and CONTAINER_HOST pointing at the private service."""
    monkeypatch.setenv("DOCKER_HOST", podman_service.address)
    monkeypatch.setenv("CONTAINER_HOST", podman_service.address)
    return podman_service
