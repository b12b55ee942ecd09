"""``./1-build [render|train|all] [--print] [--force]``: build the Apptainer images of containers/.

Each image is built with ``apptainer build`` (``--fakeroot`` when not root) into a temp file next to its target
and renamed into place; cache and temp dirs come from environment.sh. An image whose ``org.bpgen.content-hash``
label equals the hash of its inputs (def file, pyproject.toml, the Detectron2 spec, the project files it copies)
is up to date and skipped. ``--print`` shows the exact commands without running anything.

Standard library only, like everything it imports (``bpgen.run.site``, ``bpgen.settings``, ``bpgen.errors``):
``./1-build`` runs with the build host's python3, without ./0-setup's venv. ``find_runtime`` is the one choice of the
container runtime.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bpgen.errors import UserError, report
from bpgen.run.site import SiteConfig, load_site_config

IMAGES = ("render", "train")
COPIED = (
    "pyproject.toml",
    "README.md",
    "environment.sh",
    "bpgen",
    "bpgen_train",
    "configs",
    "jobs",
)  # the defs' %files
RUNTIMES = ("apptainer", "singularity")  # same CLI; the first one present wins


class BuildError(UserError, RuntimeError):
    """The image cannot be built here; the message names the fix."""


@dataclass(frozen=True)
class ImageBuild:
    name: str
    definition: Path
    target: Path
    build_args: dict[str, str]

    def command(self, runtime: str, fakeroot: bool) -> list[str]:
        argv = [runtime, "build", "--force"]
        if fakeroot:
            argv.append("--fakeroot")
        for key, value in self.build_args.items():
            argv += ["--build-arg", f"{key}={value}"]
        return [*argv, f"{self.target}.tmp", str(self.definition)]


def content_hash(project_dir: Path, definition: Path, extra: str = "") -> str:
    """sha256 over the def file, ``extra`` (e.g. the Detectron2 spec) and every file the def copies in."""
    digest = hashlib.sha256()
    digest.update(definition.read_bytes())
    digest.update(extra.encode())
    for name in COPIED:
        root = project_dir / name
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(project_dir)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def planned_builds(site: SiteConfig, names: tuple[str, ...]) -> list[ImageBuild]:
    builds = []
    for name in names:
        definition = site.project_dir / "containers" / f"{name}.def"
        configured = site.render_image if name == "render" else site.train_image
        target = configured or site.image_dir / f"bpgen-{name}.sif"
        spec = site.values.get("BPGEN_DETECTRON2_SPEC", "") if name == "train" else ""
        args = {"CONTENT_HASH": content_hash(site.project_dir, definition, spec)}
        if name == "train":
            args["DETECTRON2_SPEC"] = spec
        builds.append(ImageBuild(name, definition, target, args))
    return builds


def find_runtime(available: Iterable[str] | None = None) -> str | None:
    """The container runtime: apptainer, else singularity, among ``available`` (default: the commands on PATH);
    None when neither. jobs/common.sh ``bpgen_runtime`` mirrors this rule (tests/test_admin_paths.py)."""
    present = set(available) if available is not None else {n for n in RUNTIMES if shutil.which(n)}
    return next((name for name in RUNTIMES if name in present), None)


def image_hash(runtime: str, image: Path) -> str | None:
    """The content-hash label of a built image, None when there is no image or no label."""
    if not image.is_file():
        return None
    result = subprocess.run([runtime, "inspect", "--json", "--labels", str(image)], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    try:
        labels = json.loads(result.stdout)["data"]["attributes"]["labels"]
    except (ValueError, KeyError, TypeError):
        return None
    return labels.get("org.bpgen.content-hash")


def environment_lines(site: SiteConfig) -> dict[str, str]:
    return {"APPTAINER_CACHEDIR": str(site.apptainer_cachedir), "APPTAINER_TMPDIR": str(site.apptainer_tmpdir)}


def print_commands(site: SiteConfig, builds: list[ImageBuild], runtime: str, fakeroot: bool) -> None:
    print(f"cd {shlex.quote(str(site.project_dir))}")
    for key, value in environment_lines(site).items():
        print(f"export {key}={shlex.quote(value)}")
    print(f"mkdir -p {shlex.quote(str(site.apptainer_cachedir))} {shlex.quote(str(site.apptainer_tmpdir))}")
    for build in builds:
        print(f"# {build.name} image -> {build.target}")
        print(f"mkdir -p {shlex.quote(str(build.target.parent))}")
        print(" ".join(shlex.quote(a) for a in build.command(runtime, fakeroot)))
        print(f"mv {shlex.quote(f'{build.target}.tmp')} {shlex.quote(str(build.target))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./1-build", description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default="all", choices=(*IMAGES, "all"))
    parser.add_argument("--print", action="store_true", help="show the exact commands; run nothing")
    parser.add_argument("--force", action="store_true", help="rebuild even when the image is up to date")
    args = parser.parse_args(argv)
    names = IMAGES if args.image == "all" else (args.image,)
    try:
        site = load_site_config()
    except UserError as exc:
        return report(exc)
    builds = planned_builds(site, names)
    runtime = find_runtime()
    fakeroot = os.geteuid() != 0
    if args.print:
        print_commands(site, builds, runtime or "apptainer", fakeroot)
        return 0
    if runtime is None:
        print(
            "error: neither apptainer nor singularity is installed here; install Apptainer (apptainer.org) or build "
            "on a machine that has it (./1-build --print shows the commands)",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ, **environment_lines(site))
    for directory in (site.apptainer_cachedir, site.apptainer_tmpdir):
        directory.mkdir(parents=True, exist_ok=True)
    for build in builds:
        if not args.force and image_hash(runtime, build.target) == build.build_args["CONTENT_HASH"]:
            print(f"{build.name}: {build.target} is up to date ({build.build_args['CONTENT_HASH']})")
            continue
        build.target.parent.mkdir(parents=True, exist_ok=True)
        print(f"{build.name}: building {build.target}", flush=True)
        status = subprocess.run(build.command(runtime, fakeroot), cwd=site.project_dir, env=env).returncode
        if status != 0:
            Path(f"{build.target}.tmp").unlink(missing_ok=True)
            print(f"error: building the {build.name} image failed (exit {status}); see its output", file=sys.stderr)
            return 1
        os.replace(f"{build.target}.tmp", build.target)
        print(f"{build.name}: {build.target} built; set BPGEN_{build.name.upper()}_IMAGE={build.target} to use it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
