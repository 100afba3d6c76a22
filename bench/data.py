"""Where data sets come from: a local folder, or a URL the user passed (fetched once, cached).

Without an explicit source a task reads ``<data root>/<subdir>``, where the data root is
``$MEMKIT_DATA_DIR`` or ``../shared/data`` next to a source checkout.  memkit never
touches the network unless the user gives a URL.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path

from memkit.errors import BenchError

__all__ = ["data_root", "resolve_dataset", "fetch", "is_url", "cache_root"]

ENV_DATA = "MEMKIT_DATA_DIR"
_MARKER = ".memkit-fetched"


def is_url(source: str | os.PathLike[str]) -> bool:
    return urllib.parse.urlparse(str(source)).scheme in {"http", "https", "file"}


def cache_root() -> Path:
    """``$MEMKIT_CACHE_DIR`` or the platform's user cache folder for memkit."""
    env = os.environ.get("MEMKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("memkit"))


def _candidates() -> list[Path]:
    import memkit

    checkout = Path(memkit.__file__).resolve().parents[1]  # the repo root of a source checkout
    return [checkout.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]


def data_root() -> Path:
    """The folder holding the benchmark data sets; fails with a clear message when missing."""
    env = os.environ.get(ENV_DATA)
    if env:
        root = Path(env).expanduser()
        if not root.is_dir():
            raise BenchError(f"${ENV_DATA} points to {root}, which is not a folder")
        return root
    tried = _candidates()
    for root in tried:
        if root.is_dir():
            return root
    raise BenchError(
        "no benchmark data folder found (tried "
        + ", ".join(map(str, tried))
        + f"); set ${ENV_DATA} or pass the data set's path or URL (--data)"
    )


def resolve_dataset(source: str | os.PathLike[str] | None, subdir: str, required: Sequence[str] = ()) -> Path:
    """The folder of one data set: ``source`` (a path or URL) or ``<data root>/<subdir>``.

    ``required`` are paths (relative to the folder) that must exist; a missing one is a
    :class:`BenchError` naming it.
    """
    if source is None:
        root = data_root() / subdir
    elif is_url(source):
        root = fetch(str(source))
        if not all((root / r).exists() for r in required) and (root / subdir).is_dir():
            root = root / subdir
    else:
        root = Path(source).expanduser()
    if not root.is_dir():
        raise BenchError(f"data set folder {root} does not exist")
    missing = [r for r in required if not (root / r).exists()]
    if missing:
        raise BenchError(f"data set folder {root} lacks {', '.join(missing)}")
    return root


def fetch(url: str, *, cache: Path | None = None, timeout: float = 120.0) -> Path:
    """Download ``url`` once into the cache and return its folder (archives are unpacked).

    A finished download carries a marker file, so an interrupted one is fetched again.
    """
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    target = (cache or cache_root() / "bench-data") / key
    if (target / _MARKER).is_file():
        return target
    name = Path(urllib.parse.urlparse(url).path).name or "data"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=target.parent))
    try:
        download = tmp / name
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(download, "wb") as fh:
                shutil.copyfileobj(resp, fh)
        except (urllib.error.URLError, OSError) as exc:
            raise BenchError(f"could not fetch {url}: {exc}") from exc
        _unpack(download, tmp)
        (tmp / _MARKER).write_text(url)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _unpack(path: Path, into: Path) -> None:
    name = path.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as zf:
            _check_members(zf.namelist(), into)
            zf.extractall(into)
        path.unlink()
    elif name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(path) as tf:
            _check_members(tf.getnames(), into)
            tf.extractall(into, filter="data")
        path.unlink()


def _check_members(names: Sequence[str], into: Path) -> None:
    base = into.resolve()
    for n in names:
        if not (base / n).resolve().is_relative_to(base):
            raise BenchError(f"archive member {n!r} would be written outside the cache folder")
