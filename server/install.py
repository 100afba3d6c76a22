"""``memkit serve --install``: a systemd user unit (Linux) or a launchd agent (macOS) that runs the daemon.

It is written, never enabled: the command prints how to enable it.  The service stops the daemon with
SIGTERM, which it handles cleanly.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from memkit.config import default_home
from memkit.errors import InvalidInputError

__all__ = ["install_unit", "unit_name"]


def unit_name(store: Path) -> str:
    """``memkit`` for the default store, ``memkit-<folder>-<hash>`` for another."""
    store = Path(store).resolve()
    if store == default_home().expanduser().resolve():
        return "memkit"
    slug = "".join(c if c.isalnum() else "-" for c in store.name)[:32].strip("-") or "store"
    return f"memkit-{slug}-{hashlib.sha256(str(store).encode()).hexdigest()[:6]}"


def _command(store: Path, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "memkit.cli.main", "--store", str(store), "serve", *args]


def _systemd(store: Path, args: list[str]) -> tuple[Path, str, str]:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    name = unit_name(store)
    path = base / "systemd" / "user" / f"{name}.service"
    env = "".join(f"Environment={k}={shlex.quote(os.environ[k])}\n" for k in ("MEMKIT_CONFIG_DIR",) if k in os.environ)
    body = (f"[Unit]\nDescription=memkit daemon for {store}\n\n[Service]\nType=simple\n{env}"
            f"ExecStart={shlex.join(_command(store, args))}\nKillSignal=SIGTERM\nTimeoutStopSec=60\n"
            "Restart=on-failure\nRestartSec=5\n\n[Install]\nWantedBy=default.target\n")
    how = (f"enable it with:\n  systemctl --user daemon-reload\n  systemctl --user enable --now {name}.service\n"
           f"(logs: journalctl --user -u {name})")
    return path, body, how


def _launchd(store: Path, args: list[str]) -> tuple[Path, str, str]:
    label = "dev.memkit." + unit_name(store)
    path = Path.home() / "Library" / "LaunchAgents" / f"{label}.plist"
    argv = "".join(f"    <string>{escape(a)}</string>\n" for a in _command(store, args))
    log = escape(str(store / "daemon.log"))
    env = ""
    if "MEMKIT_CONFIG_DIR" in os.environ:
        env = ("  <key>EnvironmentVariables</key>\n  <dict>\n    <key>MEMKIT_CONFIG_DIR</key>\n"
               f"    <string>{escape(os.environ['MEMKIT_CONFIG_DIR'])}</string>\n  </dict>\n")
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
            '<plist version="1.0">\n<dict>\n'
            f"  <key>Label</key>\n  <string>{label}</string>\n"
            f"  <key>ProgramArguments</key>\n  <array>\n{argv}  </array>\n{env}"
            "  <key>RunAtLoad</key>\n  <true/>\n  <key>KeepAlive</key>\n  <dict>\n"
            "    <key>SuccessfulExit</key>\n    <false/>\n  </dict>\n"
            f"  <key>StandardOutPath</key>\n  <string>{log}</string>\n"
            f"  <key>StandardErrorPath</key>\n  <string>{log}</string>\n</dict>\n</plist>\n")
    how = f"enable it with:\n  launchctl load -w {shlex.quote(str(path))}"
    return path, body, how


def install_unit(store: Path, args: list[str], platform: str | None = None) -> tuple[Path, str]:
    """Write the service file for this platform; returns (its path, how to enable it)."""
    platform = platform or sys.platform
    if platform.startswith("linux"):
        path, body, how = _systemd(store, args)
    elif platform == "darwin":
        path, body, how = _launchd(store, args)
    else:
        raise InvalidInputError(f"--install knows systemd (Linux) and launchd (macOS), not {platform!r}; run "
                                "`memkit serve` from your platform's service manager instead")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path, how
