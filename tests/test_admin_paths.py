"""What admins and job scripts run outside the venv: ./1-build with a bare system python3, the container runtime
rule shared by jobs/common.sh and Python, paths with spaces, and run resolution in jobs/*.sbatch."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GOLDEN_DIR

from bpgen.ops.containers import RUNTIMES, find_runtime, planned_builds, print_commands
from bpgen.ops.slurm.params import container_runtime
from bpgen.run import layout
from bpgen.run.site import load_site_config

ROOT = Path(__file__).resolve().parent.parent
CHECKOUT = ("1-build", "2-submit", "00-clean", "environment.sh", "pyproject.toml", "README.md")
CHECKOUT_DIRS = ("bpgen", "bpgen_train", "configs", "containers", "jobs")


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv without pip from the base interpreter: the standard library and nothing else."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    probe = subprocess.run([str(venv / "bin" / "python3"), "-c", "import yaml"], capture_output=True, timeout=60)
    assert probe.returncode != 0, "the bare interpreter can import yaml: it is not bare"
    return venv / "bin"


def bare_env(bare_bin: Path, **extra: str) -> dict[str, str]:
    """No venv (BPGEN_VENV points nowhere), no BPGEN_* from the caller, python3 = the bare one."""
    env = {"PATH": f"{bare_bin}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "BPGEN_VENV": "/nonexistent"}
    return env | extra


def test_importing_containers_needs_only_the_standard_library():
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import bpgen.ops.containers; "
        "assert 'yaml' not in sys.modules; "
        "print(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names) - {'bpgen', '__main__'}))"
    )
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_1_build_runs_with_a_bare_python3(bare_python: Path):
    env = bare_env(bare_python, BPGEN_RENDER_IMAGE="/shared/images/render.sif")
    help_ = subprocess.run([str(ROOT / "1-build"), "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert help_.returncode == 0 and help_.stdout.startswith("usage: ./1-build"), help_.stderr
    printed = subprocess.run([str(ROOT / "1-build"), "--print"], capture_output=True, text=True, env=env, timeout=60)
    assert printed.returncode == 0, printed.stderr
    # the same commands as the venv's bpgen prints for this site (content hashes included)
    site = load_site_config(ROOT / "environment.sh", environ=env)
    runtime = find_runtime(n for n in RUNTIMES if shutil.which(n, path=env["PATH"])) or "apptainer"
    expected = io.StringIO()
    with contextlib.redirect_stdout(expected):
        print_commands(site, planned_builds(site, ("render", "train")), runtime, fakeroot=os.geteuid() != 0)
    assert printed.stdout == expected.getvalue()
    text = re.sub(r"CONTENT_HASH=[0-9a-f]{16}", "CONTENT_HASH=<hash>", printed.stdout).replace(str(ROOT), "<project>")
    golden = (GOLDEN_DIR / "1-build-print-all.txt").read_text().replace("apptainer build", f"{runtime} build")
    assert text == (golden if os.geteuid() != 0 else golden.replace(" --fakeroot", ""))


def test_1_build_refuses_an_old_python3(tmp_path: Path):
    pyenv = Path.home() / ".pyenv" / "versions"  # real interpreters (not pyenv's shims, which pick their own)
    found = [*Path("/usr/bin").glob("python3.[67]"), *pyenv.glob("3.[67].*/bin/python3.[67]")]
    if not found:
        pytest.skip("no python 3.6 or 3.7 on this machine")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3").symlink_to(found[0])
    env = bare_env(tmp_path / "bin")
    result = subprocess.run([str(ROOT / "1-build"), "--print"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "3.8 or newer" in result.stderr and len(result.stderr.splitlines()) == 1


# --- one container runtime rule -------------------------------------------------------------------------------


@pytest.mark.parametrize("present", [(), ("apptainer",), ("singularity",), ("apptainer", "singularity")])
def test_shell_and_python_pick_the_same_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, present: tuple):
    for name in present:
        (tmp_path / name).write_text("#!/bin/sh\nexit 0\n")
        (tmp_path / name).chmod(0o755)
    script = 'source "$1/jobs/common.sh"; PATH="$2"; bpgen_runtime'
    shell = subprocess.run(
        ["bash", "-c", script, "_", str(ROOT), str(tmp_path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_runtime() == (Path(shell).name if shell else None) == (present[0] if present else None)
    assert container_runtime() == (present[0] if present else "apptainer")  # what array tasks start
    assert find_runtime(present) == find_runtime()


# --- paths with spaces, run resolution ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spaced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A copy of the checkout, the venv (a link to this one) and a data root, each under a name with a space."""
    base = tmp_path_factory.mktemp("spaced")
    checkout = base / "my checkout"
    checkout.mkdir()
    for name in CHECKOUT:
        shutil.copy2(ROOT / name, checkout / name)
    for name in CHECKOUT_DIRS:
        shutil.copytree(ROOT / name, checkout / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (base / "my venv").symlink_to(ROOT / ".venv")
    data = base / "my data"
    (data / "acro").mkdir(parents=True)
    (data / "acro" / layout.RUN_MANIFEST).write_text("name: acro\nshards: 1\nimages_per_shard: 1\n")
    return {"checkout": checkout, "venv": base / "my venv", "data": data, "base": base}


def spaced_env(spaced: dict[str, Path], **extra: str) -> dict[str, str]:
    return dict(os.environ, BPGEN_VENV=str(spaced["venv"]), BPGEN_DATA_ROOT=str(spaced["data"])) | extra


def run_in(spaced: dict[str, Path], *argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, env=spaced_env(spaced, **extra), cwd=spaced["base"], timeout=120
    )


def test_entry_points_work_from_paths_with_spaces(
    spaced: dict[str, Path], bare_python: Path, fake_queue: Callable[..., None]
):
    checkout = spaced["checkout"]
    for argv in ([str(checkout / "2-submit"), "--help"], ["bash", str(checkout / "jobs" / "merge.sbatch"), "--help"]):
        result = run_in(spaced, *argv)
        assert result.returncode == 0 and result.stdout.strip(), (argv, result.stderr)
    build = subprocess.run(
        [str(checkout / "1-build"), "--print"], capture_output=True, text=True, env=bare_env(bare_python), timeout=60
    )
    assert build.returncode == 0, build.stderr
    assert shlex.split(build.stdout.splitlines()[0]) == ["cd", str(checkout)]
    clean = run_in(spaced, str(checkout / "00-clean"), "--dry-run", BPGEN_SCRATCH=str(spaced["base"] / "no scratch"))
    assert clean.returncode == 0 and "0 path(s)" in clean.stdout, clean.stderr


def test_sbatch_resolves_the_run_through_python_with_spaces(spaced: dict[str, Path]):
    train = spaced["checkout"] / "jobs" / "train.sbatch"
    result = run_in(spaced, "bash", str(train), "acro", "--print-config")
    assert result.returncode == 0, result.stderr
    run_dir = spaced["data"] / "acro"
    assert f"training on {run_dir} " in result.stderr and f"with {spaced['venv']}/bin/python" in result.stderr
    assert f"dataset: {layout.dataset_dir(run_dir)}" in result.stdout
    by_env = run_in(spaced, "bash", str(train), "--print-config", BPGEN_RUN=str(run_dir))
    assert by_env.returncode == 0 and f"dataset: {layout.dataset_dir(run_dir)}" in by_env.stdout, by_env.stderr
    missing = run_in(spaced, "bash", str(spaced["checkout"] / "jobs" / "merge.sbatch"), "nope")
    assert missing.returncode == 2 and missing.stderr.startswith("error: nope is not a bpgen run")
    assert len(missing.stderr.splitlines()) == 1
    none = run_in(spaced, "bash", str(train), "--print-config")
    assert none.returncode == 2 and "no run given" in none.stderr


def test_bpgen_python_keeps_paths_with_spaces_whole(spaced: dict[str, Path], tmp_path: Path):
    """With an image, BPGEN_PY runs the runtime with the image and the bound data root as single arguments."""
    (tmp_path / "apptainer").write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')  # shows its arguments
    (tmp_path / "apptainer").chmod(0o755)
    script = 'source "$1/jobs/common.sh"; PATH="$2:$PATH"; bpgen_python "$3"; "${BPGEN_PY[@]}" -V'
    image = spaced["base"] / "my images" / "render.sif"
    scratch = spaced["base"] / "my scratch"
    result = run_in(
        spaced,
        "bash",
        "-c",
        script,
        "_",
        str(spaced["checkout"]),
        str(tmp_path),
        str(image),
        BPGEN_SCRATCH=str(scratch),
        CUDA_VISIBLE_DEVICES="0",
    )
    assert result.returncode == 0, result.stderr
    args = ["exec", "--nv", "--bind", f"{spaced['data']},{scratch}", str(image), "python3", "-V"]
    assert result.stdout.splitlines() == args


@pytest.mark.parametrize("value", ["./somewhere", "some where", "~/runs", "/abs/runs"])
def test_data_root_is_exported_absolute_as_python_resolves_it(value: str):
    script = 'source "$1/jobs/common.sh"; env'
    env = dict(os.environ, BPGEN_DATA_ROOT=value, BPGEN_SCRATCH="scratch dir")
    out = subprocess.run(
        ["bash", "-c", script, "_", str(ROOT)], capture_output=True, text=True, env=env, check=True, timeout=60
    ).stdout.splitlines()
    site = load_site_config(ROOT / "environment.sh", environ=env)
    assert f"BPGEN_DATA_ROOT={site.data_root}" in out and f"BPGEN_SCRATCH={site.scratch}" in out
    assert f"BPGEN_HOME={ROOT}" in out and site.data_root.is_absolute()
