"""The wheel contains every subpackage (stores/ editing/ bench/ cli/ are mapped into memkit.*)."""

import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import REPO


def _packages_on_disk() -> set[str]:
    roots = {"memkit": REPO / "memkit", "memkit.stores": REPO / "stores", "memkit.editing": REPO / "editing",
             "memkit.bench": REPO / "bench", "memkit.cli": REPO / "cli"}
    found = set()
    for name, root in roots.items():
        for init in root.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(root)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    return found


def test_wheel_holds_and_imports_every_subpackage(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(REPO)],
                   check=True, capture_output=True, text=True)
    wheel = next(tmp_path.glob("memkit-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    packages = sorted(_packages_on_disk())
    for pkg in packages:
        assert (site / Path(*pkg.split(".")) / "__init__.py").exists(), f"{pkg} is missing from the wheel"
    code = (
        "import importlib, sys\n"
        f"for p in {packages!r}:\n"
        "    m = importlib.import_module(p)\n"
        f"    assert m.__file__.startswith({str(site)!r}), (p, m.__file__)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert any(name.endswith("entry_points.txt") and "memkit.cli.main:main" in zipfile.ZipFile(wheel).read(name).decode()
               for name in zipfile.ZipFile(wheel).namelist())
