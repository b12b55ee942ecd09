"""The written-down layers of bpgen: every import of bpgen/ and bpgen_train/ goes to its own or a lower layer.

The test reads every import statement (module level, inside functions and under ``TYPE_CHECKING`` alike) with
the standard library's ``ast`` and fails on
  - a circle between modules, or between packages;
  - an import of a higher layer than the importer's (``LAYERS``);
  - bpy or blenderproc imported outside ``bpgen/blender/``;
  - a root module of bpgen/ that is not a shared leaf.
Scope: the packages bpgen/ and bpgen_train/. Out of scope: bench/ (measurements that drive any layer, and
baselines that call BlenderProc directly), tests/ (Blender probes read bpy state back) and 0-setup (it imports
Blender to verify the install); those consume the layers and nothing imports them.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCOPE = ("bpgen", "bpgen_train")

# Lowest first. A package sits on one layer; a module of the root package bpgen/ is a shared leaf.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "shared leaves",
        (
            "bpgen",
            "bpgen.errors",
            "bpgen.atomic",
            "bpgen.progress",
            "bpgen.hostinfo",
            "bpgen.choice",
            "bpgen.settings",
            "bpgen.colour",
            "bpgen.validate",
            "bpgen.compose",
        ),
    ),
    ("run layout", ("bpgen.run",)),
    ("geometry and keypoints", ("bpgen.geometry",)),
    ("sections", ("bpgen.appearance", "bpgen.bodies", "bpgen.poses", "bpgen.photo", "bpgen.quality", "bpgen.world")),
    ("scene plan", ("bpgen.scene",)),
    ("blender", ("bpgen.blender",)),
    ("render", ("bpgen.render", "bpgen.preview")),
    ("stages", ("bpgen.merge", "bpgen_train")),
    ("operations", ("bpgen.ops",)),
)
BLENDER_PACKAGE = "bpgen.blender"
BLENDER_MODULES = ("bpy", "blenderproc")


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module in scope (a package is named by its ``__init__``)."""
    modules = {}
    for top in SCOPE:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def _resolve(name: str) -> str | None:
    """The module in scope that an imported dotted name lands in (``bpgen.a.b.func`` -> ``bpgen.a.b``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> list[tuple[str, int]]:
    """(imported name, line) of every import in the module; relative imports made absolute."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.append((origin, node.lineno))
            found += [(f"{origin}.{alias.name}", node.lineno) for alias in node.names]  # submodule imports
    return found


def module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for name, _ in imports_of(module):
            target = _resolve(name)
            if target is not None and target != module:
                graph[module].add(target)
    return graph


def layer_unit(module: str) -> str:
    """The layered unit a module belongs to: the root leaf itself, else its top package under bpgen."""
    parts = module.split(".")
    if parts[0] == "bpgen_train":
        return "bpgen_train"
    if len(parts) == 1:
        return "bpgen"
    candidate = ".".join(parts[:2])
    return candidate


def package_of(module: str) -> str:
    """The package a module is part of (a root module of bpgen/ is part of the root package)."""
    unit = layer_unit(module)
    return "bpgen" if unit in LAYER_OF and LAYER_OF[unit] == 0 else unit


LAYER_OF = {unit: index for index, (_, units) in enumerate(LAYERS) for unit in units}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_is_on_a_layer():
    unplaced = sorted(m for m in MODULES if layer_unit(m) not in LAYER_OF)
    assert not unplaced, f"modules on no layer of LAYERS (add a row, or move them): {unplaced}"


def test_no_circle_between_modules():
    assert cycles(module_graph()) == []


def test_no_circle_between_packages():
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in module_graph().items():
        packages[package_of(module)] |= {package_of(t) for t in targets} - {package_of(module)}
    assert cycles(dict(packages)) == []


def test_imports_go_to_the_same_or_a_lower_layer():
    upward = []
    for module, targets in module_graph().items():
        mine = LAYER_OF[layer_unit(module)]
        for target in sorted(targets):
            theirs = LAYER_OF[layer_unit(target)]
            if theirs > mine:
                upward.append(f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]})")
    assert upward == []


def test_only_the_blender_package_imports_bpy_or_blenderproc():
    outside = [
        f"{module}:{line} imports {name}"
        for module in MODULES
        if not module.startswith(BLENDER_PACKAGE)
        for name, line in imports_of(module)
        if name.split(".")[0] in BLENDER_MODULES
    ]
    assert outside == []


def test_the_root_holds_only_the_shared_leaves():
    root_modules = {m for m in MODULES if m.count(".") == 1 and MODULES[m].parent == ROOT / "bpgen"}
    leaves = set(LAYERS[0][1]) - {"bpgen"}
    assert root_modules == leaves


def test_merge_and_training_import_nothing_of_the_operations_wing():
    graph = module_graph()
    found = [
        f"{module} -> {target}"
        for module, targets in graph.items()
        if layer_unit(module) in ("bpgen.merge", "bpgen_train")
        for target in targets
        if layer_unit(target) == "bpgen.ops"
    ]
    assert found == []


@pytest.mark.parametrize("package", sorted({package_of(m) for m in MODULES}))
def test_each_package_states_its_public_api(package):
    init = MODULES[package]
    doc = ast.get_docstring(ast.parse(init.read_text()))
    assert init.name == "__init__.py" and doc, f"{init} needs a docstring that says what other packages may use"


def test_the_checker_sees_an_upward_import_and_a_circle():
    """The checks can fail: a made-up graph with an upward import and a two-module circle."""
    graph = {"bpgen.geometry.camera": {"bpgen.render.shard"}, "bpgen.render.shard": {"bpgen.geometry.camera"}}
    assert cycles(graph) == [["bpgen.geometry.camera", "bpgen.render.shard"]]
    assert LAYER_OF[layer_unit("bpgen.render.shard")] > LAYER_OF[layer_unit("bpgen.geometry.camera")]
    assert _resolve("bpgen.render.shard.render_shard") == "bpgen.render.shard"


def test_paths_from_settings_and_compose_point_at_the_checkout():
    """environment.sh and configs/ are found by file depth: moving the modules must keep them pointing here."""
    from bpgen.compose import CONFIG_DIR
    from bpgen.settings import ENV_FILE

    assert ENV_FILE == ROOT / "environment.sh" and ENV_FILE.is_file()
    assert CONFIG_DIR == ROOT / "configs" and (CONFIG_DIR / "render.yaml").is_file()


# File names of the run layout that no other module of bpgen/ or bpgen_train/ may build paths with. A path is
# built where a string (or f-string) is an operand of ``/``, or an argument of Path(), open(), glob(), rglob(),
# joinpath(), os.path.join() or mkdtemp(); messages and help texts that name a file are prose.
LAYOUT_SPELLINGS = (
    "DONE.json",
    "config.yaml",
    "coco.json",
    "frames.jsonl",
    "run.yaml",
    "submissions.jsonl",
    "stats.json",
    "merge.yaml",
    "contact_sheet.png",
    "preview.png",
    "blender.log",
    ".lock",
    "bpgen_bproc_",
    "shards",
    "shard_",
    "scenes",
    "dataset",
    "_pbr",
    "_log.out",
    "logs",
    "slurm",
    "instances_",
    "annotations",
    "images",
    "depth",
    "parts",
    "plots",
    "superseded",
)
PATH_CALLS = {"Path", "open", "glob", "rglob", "joinpath", "join", "mkdtemp", "with_name"}
# Paths that use such a name but are not the run layout.
NOT_THE_RUN_LAYOUT = {
    ("bpgen.merge.shard_merge", "depth"): "inside a BOP chunk: BOP's own names (rgb/, depth/, mask/), its writer's",
    ("bpgen.run.site", "images"): "the checkout's folder of container images (BPGEN_IMAGE_DIR's default)",
    ("bpgen_train.infer", "config.yaml"): "Detectron2's config next to the weights, wherever they are",
}


def _spells(name: str, text: str) -> bool:
    """A plain word (images, logs) only as a whole path part; a file name or prefix (DONE.json, shard_) anywhere."""
    return text == name if name.isalpha() else name in text


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    return []


def _path_parts(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, string) of each string that takes part in building a path."""
    parts = []
    for node in ast.walk(tree):
        operands: list[ast.AST] = []
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            operands = [node.left, node.right]
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in PATH_CALLS:
                operands = [*node.args, *(k.value for k in node.keywords)]
        parts += [(node.lineno, text) for operand in operands for text in _strings(operand)]
    return parts


def layout_spellings_outside_layout(modules: dict[str, Path]) -> list[str]:
    found = []
    for module, path in modules.items():
        if module == "bpgen.run.layout":
            continue
        for line, text in _path_parts(ast.parse(path.read_text())):
            if any(_spells(name, text) for name in LAYOUT_SPELLINGS) and (module, text) not in NOT_THE_RUN_LAYOUT:
                found.append(f"{module}:{line} builds a path with {text!r}")
    return found


def test_layout_path_literals_are_spelled_only_in_the_layout_module():
    assert layout_spellings_outside_layout(MODULES) == []


def test_the_literal_check_sees_a_hand_built_shard_path():
    tree = ast.parse('tmp = run_dir / "shards" / f".shard_{k:06d}.tmp"\nopen(Path(d) / "coco.json")')
    assert {text for _, text in _path_parts(tree)} >= {"shards", ".shard_", "coco.json"}
