"""`pip install` (not editable) into a fresh virtualenv gives a `turnout` that works anywhere.

The wheel is built from a copy of the sources (so the checkout gets no build/ folder, and no
stale build/lib file can slip into the wheel), installed into a new venv outside the checkout,
and the copy is deleted before anything runs: every module, migration and Kafka config must
then come from the venv's site-packages. The venv sees the test venv's site-packages through a
.pth file, so only Turnout itself is installed fresh (its dependencies are not re-downloaded).
From an empty working directory the installed script runs `up`, `simulate --wait`, `gap` and
`down`; the gap must equal the simulator's ground truth and the directory must stay empty.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.cli.local import port_open
from tests.conftest import settings_for_tests
from tests.integration.helpers import assert_rows_equal_truth

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "streams")  # what the build reads
JUNK = ("__pycache__", "*.pyc")
PACKAGE_DATA = (
    "streams/py.typed",
    "streams/store/migrations/0001_init.sql",
    "streams/cli/kafka/pom.xml",
    "streams/cli/kafka/server.properties",
    "streams/cli/kafka/log4j2.properties",
)


def test_package_data_globs_in_pyproject_match_files():
    """Every `[tool.setuptools.package-data]` pattern names at least one existing file."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"]["package-data"]
    empty = [
        f"{package}: {pattern}"
        for package, patterns in package_data.items()
        for pattern in patterns
        if not any(p.is_file() for p in (REPO / package.replace(".", "/")).glob(pattern))
    ]
    assert not empty, f"package-data patterns matching no file: {empty}"


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def turnout(self) -> Path:
        return self.venv / "bin" / "turnout"


def _run(
    argv: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `argv` to completion; fail the test with its output unless it exits 0."""
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _purelib(python: Path) -> Path:
    """The site-packages folder of the interpreter `python`."""
    probe = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(_run([python, "-c", probe]).stdout.strip())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A wheel built from a copy of the sources, installed into a new venv; the copy deleted."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns(*JUNK))
        else:
            shutil.copy2(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", root / "dist", source])
    (wheel,) = (root / "dist").glob("turnout-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (_purelib(venv / "bin" / "python") / "turnout-deps.pth").write_text("\n".join(sorted(deps)))
    _run([*pip, "--python", venv / "bin" / "python", "install", "--quiet", "--no-deps", wheel])
    shutil.rmtree(source)
    return Installed(venv, wheel)


@pytest.mark.integration
def test_wheel_holds_the_package_data(installed: Installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert set(PACKAGE_DATA) <= names, sorted(set(PACKAGE_DATA) - names)
    assert not [n for n in names if n.endswith(".pyc")]


@pytest.mark.integration
def test_installed_modules_and_package_data_come_from_site_packages(installed: Installed):
    probe = (
        "import json, streams, streams.store.connection as c, streams.cli.local as l;"
        "print(json.dumps([streams.__file__, str(c.MIGRATIONS), str(l.KAFKA_INFRA)]))"
    )
    cwd = installed.venv.parent
    found = json.loads(_run([installed.python, "-c", probe], cwd=cwd, env=_clean_env()).stdout)
    site = _purelib(installed.python)
    for path in map(Path, found):
        assert path.is_relative_to(site), f"{path} is not in the venv's {site}"
        assert not path.is_relative_to(REPO), f"{path} comes from the checkout"
    assert (Path(found[1]) / "0001_init.sql").is_file()
    assert (Path(found[2]) / "pom.xml").is_file()


@pytest.mark.integration
@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["-m", "streams.events.schema"], "--dir FOLDER"),
        (["-m", "streams.events.schema", "--check"], "--dir FOLDER"),
        (["-m", "streams.cli", "dashboards", "build"], "--out FOLDER"),
    ],
)
def test_checkout_only_commands_ask_for_a_folder_when_installed(
    installed: Installed, workdir: Path, argv: list[str], fix: str
):
    """Schemas and dashboards default to the checkout's folders; an install must name one."""
    done = subprocess.run([installed.python, *argv], cwd=workdir, env=_clean_env(),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "installed, not run from its checkout" in done.stderr and fix in done.stderr
    site = _purelib(installed.python)
    assert not (site / "schemas").exists() and not (site / "dashboards").exists()
    assert list(workdir.iterdir()) == []


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty current directory for the installed command; it must stay empty."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return cwd


@pytest.mark.integration
def test_installed_turnout_runs_a_simulated_election_outside_the_checkout(
    installed: Installed, workdir: Path, tmp_path: Path
):
    settings = settings_for_tests(tmp_path / "home", tokens=None)
    env = {**_clean_env(), **settings.to_env()}
    assert "TURNOUT_TOKENS" not in env  # `up` makes the local token, as for a user

    def turnout(*args: str) -> subprocess.CompletedProcess[str]:
        return _run([installed.turnout, *args], cwd=workdir, env=env)

    try:
        up = turnout("up")
        assert "kafka   started" in up.stdout and "worker  started" in up.stdout, up.stdout
        sim = turnout("simulate", "--electors", "2000", "--wards", "3", "--seed", "5", "--wait")
        [truth] = (settings.home / "simulations").glob("*.truth.json")  # the default place
        malformed = re.search(r"\((\d+) malformed\)", sim.stdout)
        rejected = re.search(r"rejected (\d+)", sim.stdout)
        assert malformed and rejected and malformed[1] == rejected[1], sim.stdout
        expected = json.loads(truth.read_text(encoding="utf-8"))
        gap = turnout("gap", "--election", expected["election_id"], "--format", "json")
        rows = json.loads(gap.stdout)
        assert rows, "turnout gap returned no rows"
        assert all(0 <= r["voted"] <= r["electorate"] for r in rows), rows
        assert_rows_equal_truth(rows, expected["rows"])
    finally:
        down = subprocess.run([installed.turnout, "down"], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert down.returncode == 0, down.stdout + down.stderr
    assert not port_open(*settings.api_host_port)
    assert not port_open("127.0.0.1", settings.kafka_port)
    assert sorted(p.name for p in workdir.iterdir()) == [], "turnout wrote into the current dir"
    assert (settings.home / "faust").is_dir()  # Faust's data directory is under TURNOUT_HOME
    worker_log = (settings.home / "logs" / "worker.log").read_text(errors="replace")
    assert str(REPO / "streams") not in worker_log, "the worker ran the checkout's code"


def _clean_env() -> dict[str, str]:
    """The caller's environment minus anything that would point Python or Turnout elsewhere."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("TURNOUT_")}
