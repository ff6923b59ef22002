"""The import graph has floors and every import points down or sideways, never up, with no cycle between
packages: read from the source (ast), so it takes a second and imports nothing."""
import ast
import collections

from conftest import REPO

# floor of each package or top-level module of cyclegan/ (and options/); a new one must be placed here
FLOORS = {
    "errors": 0, "io": 0, "perf": 0, "settings": 0,
    "images": 1, "models": 1, "runs": 1,
    "data": 2, "display": 2, "metrics": 2, "nst": 2, "inference": 2,
    "training": 3, "testing": 3, "comparison": 3, "bench": 3, "distillation": 3,
    "media": 4, "webdemo": 4, "ablation": 4,
    "options": 5,
    # entry points and what they share
    "cli": 6, "train": 6, "test": 6, "evaluate": 6, "gatys": 6, "fast_nst": 6, "video": 6, "stereo": 6, "compare": 6,
    "benchmark": 6, "c2st": 6, "visdom_server": 6, "quickstart": 6, "verify_weights": 6, "export": 6,
    "demo": 6, "ablate": 6, "distill": 6,
}
# what a library package may import, where the floors alone would allow more
ALLOWED = {"inference": {"models", "nst", "runs", "images", "io", "errors", "perf"}}


def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path):
    """Every cyclegan/options module a file imports, at any depth (function-level imports too)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            found |= {mod} | {f"{mod}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] in ("cyclegan", "options")}


def unit(module):
    """The package (or top-level module) of cyclegan/ a module belongs to; options/ is one unit."""
    parts = module.split(".")
    if parts[0] == "options":
        return "options"
    if len(parts) > 1 and ((REPO / "cyclegan" / parts[1]).is_dir() or (REPO / "cyclegan" / f"{parts[1]}.py").exists()):
        return parts[1]
    return None


def package_graph():
    edges = collections.defaultdict(set)
    for path in sorted((REPO / "cyclegan").rglob("*.py")) + sorted((REPO / "options").rglob("*.py")):
        src = unit(module_name(path))
        for module in imported(path):
            dst = unit(module)
            if src and dst and dst != src:
                edges[src].add(dst)
    return edges


def test_every_package_has_a_floor_and_imports_only_down_or_sideways():
    edges = package_graph()
    units = set(edges) | {d for ds in edges.values() for d in ds}
    assert units <= set(FLOORS), f"place these in FLOORS: {sorted(units - set(FLOORS))}"
    upward = [(a, b) for a in edges for b in edges[a] if FLOORS[b] > FLOORS[a]]
    assert upward == [], upward


def test_no_cycle_between_packages():
    edges = package_graph()
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            assert state.get(nxt) != "open", " -> ".join(path + [node, nxt])
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = "done"
    for node in sorted(edges):
        if node not in state:
            visit(node, [])


def test_library_packages_that_notebooks_use_never_import_training_display_or_options():
    edges = package_graph()
    for low in ("models", "nst", "data", "inference", "io", "metrics", "runs", "images", "errors", "perf", "webdemo"):
        assert not edges.get(low, set()) & {"training", "display", "options"}, (low, edges.get(low))


def test_packages_with_a_narrower_rule_import_only_what_it_allows():
    edges = package_graph()
    for package, allowed in ALLOWED.items():
        assert edges.get(package), package  # the rule is about a package that exists and imports something
        assert edges[package] <= allowed, (package, sorted(edges[package] - allowed))


def test_no_library_module_reads_shared_data():
    for path in (REPO / "cyclegan").rglob("*.py"):
        text = path.read_text()
        assert '"shared"' not in text and "../shared" not in text, path


def test_inference_imports_no_training_class():
    """cyclegan.load's code takes networks and weight helpers from models/, never a model class (BaseModel, the
    CycleGAN, CUT or test model): inference does not depend on how training is organised."""
    training = {f"cyclegan.models.{m}" for m in ("base_model", "cycle_gan_model", "cut_model")}
    found = {(p.name, m) for p in (REPO / "cyclegan" / "inference").glob("*.py") for m in imported(p)
             if any(m == t or m.startswith(t + ".") for t in training) or m in ("cyclegan.models.BaseModel",
                                                                               "cyclegan.models.create_model")}
    assert found == set(), sorted(found)
