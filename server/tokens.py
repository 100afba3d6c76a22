"""Bearer tokens for the daemon, kept in the user's config folder.

``tokens.json`` (mode 0600) holds, per named client, the SHA-256 of its token and the scope it is limited
to (a ``user_id``, and optionally an ``agent_id``); the raw tokens are shown once, when created, and never
stored -- except the owner's unrestricted ``default`` token, which is also written to ``token`` (mode 0600)
so that the CLI and ``memkit mcp`` of the same OS user can read it.  A token is 32 random bytes, so one
SHA-256 (no salt, no stretching) keeps it safe; checks compare digests with :func:`hmac.compare_digest`.

The daemon re-reads the file when it changes, so ``memkit token create`` / ``revoke`` take effect at
once on a running daemon.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from memkit.errors import ConfigError, InvalidInputError, NotFoundError, validation_message
from memkit.types import text_problem, utcnow

__all__ = ["Caller", "TokenRecord", "TokenStore", "DEFAULT_CLIENT", "TOKENS_FILE", "TOKEN_FILE"]

TOKENS_FILE = "tokens.json"
TOKEN_FILE = "token"
DEFAULT_CLIENT = "default"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_PREFIX = "mk_"


class Caller(BaseModel):
    """Who is asking: the token's client name and the scope the token limits it to (None: any)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client: str
    user_id: str | None = None
    agent_id: str | None = None

    @property
    def unrestricted(self) -> bool:
        return self.user_id is None and self.agent_id is None


class TokenRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    sha256: str
    user_id: str | None = None
    agent_id: str | None = None
    created_at: AwareDatetime

    def caller(self) -> Caller:
        return Caller(client=self.name, user_id=self.user_id, agent_id=self.agent_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file created with mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class TokenStore:
    """The tokens in one config folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).expanduser()
        self.path = self.folder / TOKENS_FILE
        self._guard = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._records: dict[str, TokenRecord] = {}

    # -- file ------------------------------------------------------------------------------------------
    def _ensure_folder(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(f"cannot create the config folder {self.folder}: {exc.strerror or exc}") from None

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Serialise changes to the file between processes (``memkit token create`` beside a daemon)."""
        self._ensure_folder()
        fd = os.open(self.folder / ".tokens.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            except ImportError:  # no flock: a single process changes the tokens
                pass
            yield
        finally:
            os.close(fd)

    def _load(self) -> dict[str, TokenRecord]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._seen, self._records = None, {}
            return self._records
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._seen:
            return self._records
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            records = {r["name"]: TokenRecord.model_validate(r) for r in raw.get("tokens", [])}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"cannot read the token file {self.path}: {exc}") from None
        except ValidationError as exc:
            raise ConfigError(f"bad token file {self.path}: {validation_message(exc, 'token')}") from None
        self._seen, self._records = stamp, records
        return records

    def _save(self, records: dict[str, TokenRecord]) -> None:
        body = {"format": "memkit-tokens/1",
                "tokens": [r.model_dump(mode="json") for r in sorted(records.values(), key=lambda r: r.created_at)]}
        _write_private(self.path, json.dumps(body, indent=2) + "\n")
        self._seen = None

    # -- public ----------------------------------------------------------------------------------------
    def default_token(self) -> str | None:
        """The owner's unrestricted token, or None before the daemon first ran."""
        try:
            token = (self.folder / TOKEN_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read {self.folder / TOKEN_FILE}: {exc.strerror or exc}") from None
        return token or None

    def ensure_default(self) -> str:
        """The owner's token, made (file mode 0600) on first use."""
        with self._guard, self._exclusive():
            records = self._load()
            token = self.default_token()
            if token is None:
                token = _PREFIX + secrets.token_urlsafe(32)
                _write_private(self.folder / TOKEN_FILE, token + "\n")
            rec = records.get(DEFAULT_CLIENT)
            if rec is None or not hmac.compare_digest(rec.sha256, _digest(token)):
                records = {**records, DEFAULT_CLIENT: TokenRecord(name=DEFAULT_CLIENT, sha256=_digest(token),
                                                                  created_at=utcnow())}
                self._save(records)
            return token

    def create(self, name: str, user_id: str | None = None, agent_id: str | None = None) -> str:
        """A new token for client ``name``, limited to ``user_id`` (and ``agent_id``); returned once."""
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidInputError(f"token name {name!r}: 1-64 letters, digits, '_', '.' or '-', starting with a "
                                    "letter or digit")
        if name == DEFAULT_CLIENT:
            raise InvalidInputError(f"{DEFAULT_CLIENT!r} is the owner's token, made by the daemon; choose another name")
        for what, value in (("user", user_id), ("agent", agent_id)):
            if value is not None and (not value.strip() or text_problem(value)):
                raise InvalidInputError(f"--{what} must be a non-empty string of text")
        token = _PREFIX + secrets.token_urlsafe(32)
        with self._guard, self._exclusive():
            records = self._load()
            if name in records:
                raise InvalidInputError(f"a token named {name!r} exists; revoke it first or choose another name")
            records = {**records, name: TokenRecord(name=name, sha256=_digest(token), user_id=user_id,
                                                    agent_id=agent_id, created_at=utcnow())}
            self._save(records)
        return token

    def list(self) -> list[TokenRecord]:
        with self._guard:
            return sorted(self._load().values(), key=lambda r: r.created_at)

    def revoke(self, name: str) -> None:
        with self._guard, self._exclusive():
            records = self._load()
            if name not in records:
                raise NotFoundError(f"no token named {name!r}")
            records = {k: v for k, v in records.items() if k != name}
            self._save(records)
            if name == DEFAULT_CLIENT:
                (self.folder / TOKEN_FILE).unlink(missing_ok=True)

    def verify(self, token: str | None) -> Caller | None:
        """The caller a raw token belongs to, or None.  Every record is compared, in constant time each."""
        if not token:
            return None
        digest = _digest(token)
        with self._guard:
            records = self._load()
        found = None
        for rec in records.values():
            if hmac.compare_digest(rec.sha256, digest):
                found = rec
        return None if found is None else found.caller()
