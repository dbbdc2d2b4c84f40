"""The light imports stay light, and the package maps reward/ and data_prep/ under funrl."""

from __future__ import annotations

import subprocess
import sys


def test_light_imports_pull_in_neither_torch_nor_verl():
    code = (
        "import sys, funrl, funrl.reward, funrl.data_prep\n"
        "heavy = sorted(m for m in ('torch', 'verl', 'ray', 'transformers') if m in sys.modules)\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_reward_is_standard_library_only():
    code = (
        "import sys; before = set(sys.modules)\n"
        "import funrl.reward\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "std = set(sys.stdlib_module_names) | {'funrl'}\n"
        "print(','.join(sorted(new - std)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_reward_and_data_prep_live_under_funrl():
    import funrl.data_prep
    import funrl.reward

    assert funrl.reward.__name__ == "funrl.reward" and funrl.reward.__file__.replace("\\", "/").endswith(
        "reward/__init__.py"
    )
    assert funrl.data_prep.__file__.replace("\\", "/").endswith("data_prep/__init__.py")


def _declared_packages() -> tuple[list[str], dict[str, str]]:
    from pathlib import Path

    import tomllib

    data = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    setuptools = data["tool"]["setuptools"]
    return setuptools["packages"], setuptools["package-dir"]


def test_every_source_folder_is_a_declared_package():
    """pyproject.toml lists packages explicitly: a new subpackage not listed would be missing from a real
    (non-editable) install while an editable one hides the gap."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    packages, package_dir = _declared_packages()
    missing = []
    for name, folder in package_dir.items():
        for init in (root / folder).rglob("*.py"):
            rel = init.parent.relative_to(root / folder)
            if "__pycache__" in rel.parts:
                continue
            dotted = ".".join((name, *rel.parts))
            if dotted not in packages:
                missing.append(dotted)
    assert sorted(set(missing)) == []
