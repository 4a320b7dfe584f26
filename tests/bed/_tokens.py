"""A Docker-Hub-like token server for the token-auth registry flavour.

Issues RS256 JWTs carrying the signing certificate in `x5c` (the registry
verifies the chain against its rootcertbundle). Anonymous pull is allowed
outside `private/`; the test user gets whatever it asks for. Every request is
recorded so tests can assert the sequence a client made."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from bed._http import RecordingServer

PRIVATE_PREFIX = "private/"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_signing_cert(common_name: str = "layerslayer test token signer"):
    """A fresh RSA key and a self-signed certificate (also the registry's trust root)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


@dataclass
class TokenRequest:
    """One request to the token endpoint, as the client sent it."""

    method: str
    path: str
    params: dict[str, list[str]]  # query (GET) or form body (POST)
    authorization: str | None  # the scheme sent ("Basic", "Bearer"), never the secret
    status: int = 0
    account: str | None = None  # who it was issued to (None = anonymous or refused)
    granted: list[dict] = field(default_factory=list)  # the JWT access claim

    @property
    def scopes(self) -> list[str]:
        return self.params.get("scope", [])

    @property
    def grant_type(self) -> str | None:
        return (self.params.get("grant_type") or [None])[0]


class TokenServer(RecordingServer[TokenRequest]):
    """`GET /token?service=..&scope=..` (Basic optional) and `POST /token` with
    grant_type=password or refresh_token, on a free loopback port."""

    def __init__(
        self,
        users: dict[str, str],
        *,
        service: str,
        issuer: str,
        expires_in: int = 300,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__()
        self.users = dict(users)
        self.service = service
        self.issuer = issuer
        self.expires_in = expires_in  # what the body says
        self.jwt_lifetime: int | None = None  # exp - now in the JWT itself; None = expires_in
        self.host_ip = host
        self.key, self.cert = make_signing_cert()
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self._x5c = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> account

    # -- addresses -------------------------------------------------------------
    @property
    def realm(self) -> str:
        return f"http://{self.host_ip}:{self.port}/token"

    def issue_refresh_token(self, account: str) -> str:
        """An identity token for `account` (what `docker login` stores as identitytoken)."""
        token = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            self.refresh_tokens[token] = account
        return token

    # -- tokens ----------------------------------------------------------------
    def grant(self, account: str | None, scopes: list[str]) -> list[dict]:
        access: dict[tuple[str, str], list[str]] = {}
        for scope in scopes:
            for one in scope.split(" "):  # some clients join scopes with spaces
                parts = one.split(":")
                if len(parts) < 3:
                    continue
                rtype, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
                if rtype == "repository":
                    if account is not None:
                        allowed = [a for a in actions if a in ("pull", "push", "delete", "*")]
                    elif not name.startswith(PRIVATE_PREFIX):
                        allowed = [a for a in actions if a == "pull"]
                    else:
                        allowed = []
                else:
                    allowed = list(actions) if account is not None else []
                got = access.setdefault((rtype, name), [])
                got.extend(a for a in allowed if a not in got)
        return [{"type": t, "name": n, "actions": a} for (t, n), a in access.items()]

    def make_jwt(self, account: str | None, access: list[dict]) -> str:
        now = int(time.time())
        lifetime = self.expires_in if self.jwt_lifetime is None else self.jwt_lifetime
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {
            "iss": self.issuer,
            "sub": account or "",
            "aud": self.service,
            "exp": now + lifetime,
            "nbf": now - 5,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(sig)}"

    def token_body(self, account: str | None, scopes: list[str], refresh_token: str | None = None) -> tuple[dict, list[dict]]:
        access = self.grant(account, scopes)
        token = self.make_jwt(account, access)
        body = {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        if refresh_token:
            body["refresh_token"] = refresh_token
        return body, access

    def _basic_account(self, header: str | None) -> tuple[bool, str | None]:
        """(ok, account): ok False when Basic credentials were sent and are wrong."""
        if not header or not header.lower().startswith("basic "):
            return True, None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False, None
        if self.users.get(user) == password:
            return True, user
        return False, None

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> TokenServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, rec: TokenRequest, status: int, body: dict) -> None:
                rec.status = status
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, params: dict[str, list[str]]) -> TokenRequest:
                auth = self.headers.get("Authorization")
                rec = TokenRequest(
                    self.command, urlsplit(self.path).path, params, auth.split(" ", 1)[0] if auth else None
                )
                with server._lock:
                    server.requests.append(rec)
                return rec

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                rec = self._record(parse_qs(url.query, keep_blank_values=True))
                if url.path != "/token":
                    return self._reply(rec, 404, {"errors": [{"code": "NOT_FOUND"}]})
                ok, account = server._basic_account(self.headers.get("Authorization"))
                if not ok:
                    return self._reply(rec, 401, {"errors": [{"code": "UNAUTHORIZED", "message": "incorrect username or password"}]})
                body, access = server.token_body(account, rec.scopes)
                rec.account, rec.granted = account, access
                self._reply(rec, 200, body)

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
                form = parse_qs(self.rfile.read(length).decode(errors="replace"), keep_blank_values=True)
                rec = self._record(form)
                if urlsplit(self.path).path != "/token":
                    return self._reply(rec, 404, {"errors": [{"code": "NOT_FOUND"}]})
                grant = rec.grant_type
                refresh: str | None = None
                if grant == "password":
                    user = (form.get("username") or [""])[0]
                    if server.users.get(user) != (form.get("password") or [""])[0]:
                        return self._reply(rec, 401, {"error": "invalid_grant"})
                    account = user
                    refresh = server.issue_refresh_token(user)
                elif grant == "refresh_token":
                    with server._lock:
                        account = server.refresh_tokens.get((form.get("refresh_token") or [""])[0])
                    if account is None:
                        return self._reply(rec, 401, {"error": "invalid_grant"})
                    refresh = (form.get("refresh_token") or [""])[0]
                else:
                    return self._reply(rec, 400, {"error": "unsupported_grant_type"})
                body, access = server.token_body(account, rec.scopes, refresh)
                rec.account, rec.granted = account, access
                self._reply(rec, 200, body)

        self._serve(Handler, ip=self.host_ip, name="token-server")
        return self
