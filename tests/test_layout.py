"""The repository's shape: the article's files on top, the rest in packages by role, no import cycle, naming facts
in one place, links that resolve, no path of a machine."""
import ast
import collections
import os
import re
import subprocess

import pytest
from hypothesis import given, strategies as st

import config
from conftest import ROOT

TOP_LEVEL = {"main", "GAN", "SAGAN", "ops", "utils", "config"}  # the article's and its framework's, and the configs
PACKAGES = {"common", "training", "evaluation", "parallel", "bench", "export", "extensions"}


def project_modules():
    """{dotted module name: path} of the top-level Python files and of every package's modules."""
    modules = {name[:-3]: os.path.join(ROOT, name) for name in os.listdir(ROOT) if name.endswith(".py")}
    for package in PACKAGES:
        for name in os.listdir(os.path.join(ROOT, package)):
            if name.endswith(".py"):
                dotted = package if name == "__init__.py" else f"{package}.{name[:-3]}"
                modules[dotted] = os.path.join(ROOT, package, name)
    return modules


def imports_of(path, modules):
    """The project modules a file imports, at the top or inside functions; 'from package import module' counts
    as the module."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found & set(modules)


def test_the_top_level_holds_the_articles_files_and_every_package_says_what_it_holds():
    assert {name[:-3] for name in os.listdir(ROOT) if name.endswith(".py")} == TOP_LEVEL
    for package in PACKAGES:
        docstring = ast.get_docstring(ast.parse(open(os.path.join(ROOT, package, "__init__.py")).read()))
        assert docstring and "import" in docstring, package  # what it holds, and what it may import


def test_no_import_cycle():
    modules = project_modules()
    graph = {name: imports_of(path, modules) - {name} for name, path in modules.items()}
    # config.model_class imports the model modules by name, when it is called; they import config.
    state = {}

    def visit(name, trail):
        if state.get(name) == "open":
            pytest.fail("import cycle: " + " -> ".join(trail[trail.index(name):] + [name]))
        if state.get(name) is None:
            state[name] = "open"
            for other in sorted(graph[name]):
                visit(other, trail + [name])
            state[name] = "done"
    for name in sorted(graph):
        visit(name, [])


def test_packages_import_only_what_their_docstrings_allow():
    allowed = {"common": set(), "parallel": {"common", "config", "ops"}, "extensions": {"ops"},
               "training": {"common", "parallel", "extensions", "ops", "utils", "config"},
               "evaluation": {"common", "training", "ops", "utils", "config"},
               "export": {"common", "training", "evaluation", "ops", "config"}}
    modules = project_modules()
    crossing = []
    for name, path in modules.items():
        package = name.split(".")[0]
        if package not in allowed:
            continue
        for imported in imports_of(path, modules):
            other = imported.split(".")[0]
            if other != package and other not in allowed[package]:
                crossing.append(f"{name} imports {imported}")
    assert crossing == []


def test_only_config_spells_the_registry_and_the_folder_suffixes():
    """main, bench, compare and scripts/ read these from config.py instead of writing them again."""
    spelled = re.compile(r"""\(\s*"GAN",\s*"SAGAN"\s*\)|"_bf16"|_seed\{""")
    paths = list(project_modules().values()) + [os.path.join(ROOT, "scripts", n)
                                                for n in os.listdir(os.path.join(ROOT, "scripts"))]
    assert len(paths) > 30
    offenders = [os.path.basename(p) for p in paths
                 if os.path.basename(p) != "config.py" and spelled.search(open(p).read())]
    assert offenders == []


@given(gan_type=st.sampled_from(config.MODEL_NAMES), dataset=st.sampled_from(config.DATASETS),
       batch_size=st.integers(1, 70_000), z_dim=st.integers(1, 10_000), seed=st.integers(0, 2**31 - 1),
       precision=st.sampled_from(config.PRECISIONS))
def test_model_dir_parses_back_to_its_fields(**fields):
    name = config.model_dir(config.ModelConfig(**fields))
    assert config.parse_model_dir(name) == fields


@pytest.mark.parametrize("name", ["GAN_mnist_64_62_seed0", "GAN_mnist_064_62", "WGAN_mnist_64_62",
                                  "GAN_cifar_64_62", "GAN_mnist_64_62_fp16", "compare_mnist", "GAN_mnist_64"])
def test_other_names_are_not_runs(name):
    assert config.parse_model_dir(name) is None


def test_default_runs_keep_their_old_folder_names():
    assert config.model_dir(config.ModelConfig("SAGAN")) == "SAGAN_mnist_64_62"
    assert config.model_dir(config.ModelConfig("GAN", seed=2, precision="bfloat16")) == "GAN_mnist_64_62_seed2_bf16"


def tracked_files():
    """Paths git tracks, or None outside a git checkout."""
    done = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    return set(done.stdout.splitlines()) if done.returncode == 0 else None


README_LIMIT_BYTES = 8 * 1024  # a front page; the rest belongs in docs/


def test_readme_is_a_front_page():
    assert os.path.getsize(os.path.join(ROOT, "README.md")) <= README_LIMIT_BYTES


def documents():
    """README.md and every markdown page under docs/, as paths relative to the repository."""
    found = ["README.md"]
    for folder, _, names in os.walk(os.path.join(ROOT, "docs")):
        found += [os.path.relpath(os.path.join(folder, n), ROOT) for n in sorted(names) if n.endswith(".md")]
    return found


def heading_anchor(heading):
    """The anchor GitHub gives a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def relative_links(document):
    """(target file relative to the repository, anchor) of each link in document but web addresses."""
    for target in re.findall(r"\]\(([^)\s]+)\)", open(os.path.join(ROOT, document)).read()):
        path, _, anchor = target.partition("#")
        if re.match(r"^[a-z]+:", path):
            continue
        yield (os.path.normpath(os.path.join(os.path.dirname(document), path)) if path else document), anchor


def test_every_relative_link_in_readme_and_docs_is_a_tracked_file():
    tracked = tracked_files()
    if tracked is None:
        pytest.skip("not a git checkout")
    broken = [f"{document} -> {path}" for document in documents() for path, _ in relative_links(document)
              if path not in tracked and not any(t.startswith(path + "/") for t in tracked)]
    assert broken == []


def test_every_anchor_in_readme_and_docs_names_a_heading_of_its_page():
    headings = {}
    for document in documents():
        text = open(os.path.join(ROOT, document)).read()
        headings[document] = {heading_anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
    links = [(document, path, anchor) for document in documents() for path, anchor in relative_links(document)
             if anchor and path.endswith(".md")]
    assert len(links) >= 5  # README links into docs' sections; a parser that finds none would pass
    assert [f"{d} -> {p}#{a}" for d, p, a in links if a not in headings.get(p, ())] == []


def test_heading_anchor_follows_github():
    assert heading_anchor("Stage 2: the verdict (three seeds, 5 epochs)") == "stage-2-the-verdict-three-seeds-5-epochs"
    assert heading_anchor("γ does not stay near 0 here") == "γ-does-not-stay-near-0-here"
    assert heading_anchor("`--grid` and model_dir") == "--grid-and-model_dir"


def test_published_samples_are_what_docs_samples_readme_lists():
    folder = os.path.join(ROOT, "docs", "samples")
    from evaluation.evaluate import read_samples_files
    paths = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".npz"))
    listed = re.findall(r"^\| `([^`]+\.npz)` \|", open(os.path.join(folder, "README.md")).read(), re.M)
    assert sorted(listed) == [os.path.basename(p) for p in paths]
    for path, images, about in read_samples_files(paths):
        assert images.shape == (10_000, 28, 28, 1) and images.dtype == "uint8"
        expected_weights = "ema" if path.endswith("_ema.npz") else "raw"
        assert about["weights"] == expected_weights and about["seed"] == 0 and about["step"] > 0


MACHINE_PATH = re.compile(r"(^|[^\w.~-])/(work|tmp|root|home|Users|mnt|opt)/")


def test_no_page_or_module_names_a_path_of_a_machine():
    tracked = tracked_files()
    if tracked is None:
        pytest.skip("not a git checkout")
    here = os.path.relpath(__file__, ROOT)
    found = []
    for path in sorted(tracked):
        if path.endswith((".md", ".py", ".sh", ".txt")) and path != here and os.path.exists(os.path.join(ROOT, path)):
            for number, line in enumerate(open(os.path.join(ROOT, path), errors="replace"), 1):
                if MACHINE_PATH.search(line):
                    found.append(f"{path}:{number}: {line.strip()[:80]}")
    assert found == []


def test_the_machine_path_check_finds_what_it_should():
    assert MACHINE_PATH.search("see /work/runs/next.sh") and MACHINE_PATH.search("`/tmp/ci43`")
    assert not MACHINE_PATH.search("docs/samples/x.npz") and not MACHINE_PATH.search("https://a.b/home/x")


def names_used_in_code(source):
    """The identifiers a Python source uses as code: names, attributes, imports, and words of its string constants
    (a registry names classes by string), but nothing of its docstrings or comments."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
                  and isinstance(node.body[0].value.value, str)}
    used = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.append(node.id)
        elif isinstance(node, ast.Attribute):
            used.append(node.attr)
        elif isinstance(node, ast.alias):
            used.append(node.name.split(".")[-1])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            used += re.findall(r"\w+", node.value)
    return used


def test_every_function_and_class_has_a_caller():
    """Dead code goes: each top-level function or class of a project module is used by the program's code somewhere
    (another module, a script, or its own module); tests, docstrings and comments do not count."""
    used = collections.Counter()
    for path in project_modules().values():
        used.update(names_used_in_code(open(path).read()))
    for name in os.listdir(os.path.join(ROOT, "scripts")):
        text = open(os.path.join(ROOT, "scripts", name)).read()
        used.update(names_used_in_code(text) if name.endswith(".py") else re.findall(r"\w+", text))
    unused = [f"{os.path.relpath(path, ROOT)}: {node.name}" for path in project_modules().values()
              for node in ast.parse(open(path).read()).body
              if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("__")
              and not used[node.name]]
    assert unused == []
    assert "names_used_in_code" not in names_used_in_code('"""names_used_in_code, in a docstring"""\n')


def test_no_page_says_the_raw_g_is_sampled_as_the_article_samples():
    for document in documents():
        text = " ".join(open(os.path.join(ROOT, document)).read().split())
        assert "as the article does" not in text, document


def test_deviations_name_every_output_of_the_framework_this_project_writes_otherwise():
    text = " ".join(open(os.path.join(ROOT, "docs", "deviations.md")).read().split())
    for departure in ("300 steps", "show_all_variables", "fixed z", "epoch_001.png", "TensorBoard", "25",
                      "Bessel", "1.001e-5", "checkpoint/<model_dir>"):
        assert departure in text, departure
