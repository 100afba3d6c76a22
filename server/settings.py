"""Where the daemon keeps its files, and the settings of one ``memkit serve``."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ServeSettings", "config_dir", "DEFAULT_PORT", "LOOPBACK_HOSTS", "is_loopback"]

DEFAULT_PORT = 7319
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def config_dir() -> Path:
    """``$MEMKIT_CONFIG_DIR``, or the user's config folder for memkit (``~/.config/memkit`` on Linux)."""
    env = os.environ.get("MEMKIT_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("memkit"))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServeSettings(BaseModel):
    """One daemon: its store, where it listens, and its limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: Path = Field(description="the memory's folder; for a database, its local folder (the daemon's files)")
    url: str | None = Field(default=None, repr=False,
                            description="a database URL (postgresql://...): the memory served, instead of the folder")
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, description="0: any free port")
    allow_remote: bool = Field(
        default=False, description="accept a non-loopback bind address and any Host header (tokens still required)")
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, description="larger request bodies get 413")
    config_dir: Path = Field(default_factory=config_dir, description="tokens live here")

    @property
    def location(self) -> str:
        """What is served, as shown to people: the folder, or the URL without its password."""
        from memkit.config import masked_url

        return masked_url(self.url) if self.url is not None else str(self.store)

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> ServeSettings:
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(f"host {self.host!r} is not a loopback address; the daemon binds 127.0.0.1 unless "
                             "--allow-remote is given")
        return self
