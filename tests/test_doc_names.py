"""Docs name only code that exists: every `module.symbol`, repository path and --flag that README.md, the pages
under docs/ and the model card's template cite."""
import ast
import glob
import importlib
import os
import re

import pytest

from conftest import ROOT

CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)
FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9_-]*)")
# a repository path: a top-level folder or .py file of the repository, then more of a path
PATH = re.compile(r"^([A-Za-z_][\w.-]*(?:/[\w.-]+)*)$")
FOREIGN_COMMANDS = ("pytest", "pip ", "saved_model_cli", "npm ", "apt-get", "git ")  # whose flags are not ours
DOTTED = re.compile(r"^([A-Za-z_]\w*(?:/\w+)*)\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\(.*\))?$")


def documents():
    """{name: text} of README.md, docs/*.md and the model card's template (export/model_card.py's strings)."""
    texts = {path: open(os.path.join(ROOT, path)).read() for path in
             ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "**", "*.md"),
                                                                                 recursive=True))}
    card = ast.parse(open(os.path.join(ROOT, "export", "model_card.py")).read())
    texts["export/model_card.py"] = "\n".join(node.value for node in ast.walk(card)
                                              if isinstance(node, ast.Constant) and isinstance(node.value, str))
    return texts


def spans(text):
    """The contents of the text's code spans, and each line of its fenced code blocks."""
    found = [line for block in FENCE.findall(text) for line in block.splitlines()]
    return found + CODE_SPAN.findall(FENCE.sub("", text))


def repository_module(name):
    """The repository's module of a dotted or slashed name (training/streams, config, GAN), or None."""
    path = os.path.join(ROOT, *name.split("/"))
    if os.path.exists(path + ".py") or os.path.exists(os.path.join(path, "__init__.py")):
        return name.replace("/", ".")
    return None


def missing_symbol(span):
    """Why a `module.symbol` span names nothing, or None (for spans that are no repository module's symbol)."""
    match = DOTTED.match(span.strip())
    if not match or span.strip().endswith((".py", ".md", ".sh", ".json", ".csv", ".png", ".npz", ".html")):
        return None
    module_name = repository_module(match.group(1))
    if module_name is None:
        return None
    module = importlib.import_module(module_name)
    owner = module
    for part in match.group(2).split("."):
        if hasattr(owner, part):
            owner = getattr(owner, part)
            continue
        if owner is module and repository_module(module_name.replace(".", "/") + "/" + part):  # a subpackage's
            module = owner = importlib.import_module(f"{module_name}.{part}")
            module_name = module.__name__
            continue
        # Module.Class's attribute: `GAN.generator` is class GAN's in GAN.py
        cls = getattr(module, module_name.rsplit(".", 1)[-1], None)
        if owner is module and cls is not None and hasattr(cls, part):
            owner = getattr(cls, part)
            continue
        return f"{span}: {module_name} has no {part}"
    return None


def missing_path(span):
    """Why a repository path span names no file or folder, or None (for spans that are not repository paths)."""
    text = span.strip()
    if text.endswith("/") and text.count("/") > 1:
        return None  # a folder inside a run's folders, such as export/raw/
    text = text.rstrip("/")
    if not PATH.match(text) or "/" not in text and not text.endswith(".py"):
        return None
    top = text.split("/")[0]
    if not os.path.exists(os.path.join(ROOT, top)) or top in ("results", "checkpoint", "logs", "data"):
        return None  # not the repository's (a run's output folders are made by runs)
    return None if os.path.exists(os.path.join(ROOT, text)) else f"{span}: no such file or folder"


def known_flags():
    """Every flag main.py's parser takes, and those the repository's other commands define."""
    import main
    flags = {option.lstrip("-") for action in main.build_parser()._actions for option in action.option_strings}
    for path in glob.glob(os.path.join(ROOT, "**", "*.py"), recursive=True) + \
            glob.glob(os.path.join(ROOT, "scripts", "*.sh")):
        if os.sep + "tests" + os.sep not in path:
            flags |= set(re.findall(r"[\"']--([a-z][a-z0-9_-]*)", open(path).read()))
    return flags


def problems(texts):
    flags = known_flags()
    found = []
    for name, text in texts.items():
        for span in spans(text):
            match = DOTTED.match(span.strip())
            is_symbol = bool(match) and repository_module(match.group(1)) is not None
            why = missing_symbol(span) if is_symbol else missing_path(span)
            if why:
                found.append(f"{name}: {why}")
            if not any(command in span for command in FOREIGN_COMMANDS):
                found += [f"{name}: {span}: no flag --{flag}" for flag in FLAG.findall(span) if flag not in flags]
    return found


def test_every_code_name_the_docs_cite_exists():
    assert problems(documents()) == []


@pytest.mark.parametrize("stale", ["`GAN.sample_z`", "`training/streams.sample_zz`", "`training/nowhere.py`",
                                   "`python main.py --attention_place 7`"])
def test_the_check_catches_a_name_that_no_longer_exists(stale):
    assert len(problems({"a page": f"As {stale} says."})) == 1
