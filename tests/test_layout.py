"""The dependency rule of the layout: the library ``tfxdr`` never imports the
deployment packages built on it (``tfxdr_serving`` from serving/,
``tfxdr_pipelines`` from pipelines/), which depend on it, not the reverse."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT = ("tfxdr_serving", "tfxdr_pipelines")


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


def test_the_library_never_imports_a_deployment_package():
    offending = sorted(f"{path.relative_to(ROOT)}: {module}"
                       for path in (ROOT / "tfxdr").rglob("*.py")
                       for module in imported_modules(path)
                       if module.split(".")[0] in DEPLOYMENT)
    assert offending == []


def test_the_rule_sees_every_form_of_import(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import tfxdr_serving.client\nfrom tfxdr_pipelines import x\n"
                      "def f():\n    from tfxdr_serving import server\nfrom . import y\n")
    assert imported_modules(source) == {"tfxdr_serving.client", "tfxdr_pipelines",
                                        "tfxdr_serving"}
