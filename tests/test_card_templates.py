"""The card templates: shipped in the installed package, and checked at start-up (a missing or broken one would
leave every order without a card, without coverage information and without an audited decision)."""
from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cds_service import card_text
from cds_service.card_samples import SAMPLES
from cds_service.config import ConfigError
from cds_service.decision import CriterionResult
from tests.conftest import close_app, local_settings, make_app

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {path.name for path in (ROOT / "cards").glob("*.j2")}
EXAMPLE = ROOT / "fhir_examples" / "aspirus-adult-maintenance.json"
# A hook call on the installed package, run in a process that sees only that package (not the source tree).
_INSTALLED_CALL = """
import json, sys
from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.card_text import DEFAULT_CARDS_DIR
app = create_app(Settings(database_url=sys.argv[1]))
response = app.test_client().post("/cds-services/blinatumomab-coverage", json=json.load(open(sys.argv[2])))
print(json.dumps({"cards_dir": str(DEFAULT_CARDS_DIR), "cards": len(response.get_json()["cards"])}))
app.extensions["cds_service"].store.close()
"""


def test_the_template_list_names_every_template_the_code_renders_and_every_shipped_one() -> None:
    code = "".join(path.read_text(encoding="utf-8") for path in (ROOT / "cds_service").rglob("*.py"))
    rendered = set(re.findall(r'render_card\(\s*"([^"]+\.j2)"', code))
    imported = {name for path in (ROOT / "cards").glob("*.j2")
                for name in re.findall(r'{%-?\s*(?:import|from|include|extends)\s+"([^"]+)"',
                                       path.read_text(encoding="utf-8"))}
    assert rendered
    assert rendered | imported <= set(card_text.TEMPLATES)
    assert set(card_text.TEMPLATES) == SHIPPED


def test_the_built_package_holds_the_templates_and_the_service_answers_from_it(tmp_path: Path) -> None:
    """What `pip install .` installs: setuptools' build_py output (a wheel packs exactly this), built from a copy of
    the sources so that the checkout stays clean."""
    source, built = tmp_path / "source", tmp_path / "built"
    for name in ("cds_service", "cards"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
                    "--build-lib", str(built)], cwd=source, check=True, capture_output=True, timeout=120)
    assert {path.name for path in (built / "cards").glob("*.j2")} == SHIPPED

    result = subprocess.run([sys.executable, "-c", _INSTALLED_CALL, f"sqlite:///{tmp_path / 'cds.db'}", str(EXAMPLE)],
                            cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(built)},
                            check=True, capture_output=True, text=True, timeout=120)
    answer = json.loads(result.stdout.splitlines()[-1])
    assert Path(answer["cards_dir"]) == built / "cards"
    assert answer["cards"] >= 1


@pytest.fixture
def cards_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped templates, named by CDS_CARDS_DIR."""
    directory = tmp_path / "cards"
    directory.mkdir()
    for name in SHIPPED:
        shutil.copy(ROOT / "cards" / name, directory / name)
    monkeypatch.setenv("CDS_CARDS_DIR", str(directory))
    return directory


def _start(tmp_path: Path) -> None:
    close_app(make_app(local_settings(tmp_path)))


def test_an_operators_complete_copy_is_accepted(tmp_path: Path, cards_dir: Path) -> None:
    """Accepted, and its wording is the one the cards carry."""
    marker = "Reviewed wording of the example operator."
    with (cards_dir / "decision.j2").open("a", encoding="utf-8") as template:
        template.write(f"\n{marker}\n")
    app = make_app(local_settings(tmp_path))
    try:
        response = app.test_client().post("/cds-services/blinatumomab-coverage",
                                          json=json.loads(EXAMPLE.read_text(encoding="utf-8")))
    finally:
        close_app(app)
    [card] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    assert card["detail"].endswith(marker)


def test_an_operators_macro_printed_through_the_markdown_filter_keeps_its_markdown(cards_dir: Path) -> None:
    """No shipped template uses the `markdown` filter any more, but an operator's copy made from an earlier version
    may: a macro's output printed through it is kept as the macro wrote it, while the values inside the macro are
    still made inert."""
    (cards_dir / "evaluation-failed.j2").write_text(
        "{% macro reference(id) %}**Reference:** `{{ id }}`{% endmacro %}\n"
        "{% set summary %}Not checked{% endset %}\n"
        "{{ reference(hook_instance) | markdown }}\n", encoding="utf-8")
    text = card_text.render_card("evaluation-failed.j2", hook_instance="a*b_c")
    assert text.detail == r"**Reference:** `a\*b\_c`"
    assert (text.summary, text.label, text.action) == ("Not checked", "", "")


def test_a_cards_dir_that_does_not_exist_stops_the_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_CARDS_DIR", str(tmp_path / "nonexistent"))
    with pytest.raises(ConfigError, match=f"^CDS_CARDS_DIR {tmp_path / 'nonexistent'} is not a directory$"):
        _start(tmp_path)


def test_a_cards_dir_lacking_templates_names_the_folder_and_each_missing_file(tmp_path: Path, cards_dir: Path) -> None:
    (cards_dir / "evaluation-failed.j2").unlink()
    (cards_dir / "dose-above.j2").unlink()
    with pytest.raises(ConfigError, match=f"^CDS_CARDS_DIR {cards_dir} lacks evaluation-failed.j2, dose-above.j2$"):
        _start(tmp_path)


def test_a_template_that_does_not_compile_is_named(tmp_path: Path, cards_dir: Path) -> None:
    (cards_dir / "quantity-over.j2").write_text("{% set summary %}Quantity{% endset %}\n{% if x %}unclosed\n")
    with pytest.raises(ConfigError, match=f"^CDS_CARDS_DIR {cards_dir}: quantity-over.j2 line 2: "):
        _start(tmp_path)


def test_a_template_that_cannot_be_read_is_named(tmp_path: Path, cards_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Unreadable for the service's user (mode 000, refused here by hand: the tests may run as root): a traceback."""
    template = cards_dir / "decision.j2"

    def refused(directory: Path) -> None:
        raise PermissionError(13, "Permission denied", str(template))

    monkeypatch.setattr(card_text, "compile_templates", refused)
    with pytest.raises(ConfigError, match=f"^cannot read {template}: Permission denied$"):
        _start(tmp_path)


def test_shipped_templates_missing_from_an_install_stop_the_start_up(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An installation without the templates (what a wheel without them gave): named as the built-in folder."""
    monkeypatch.delenv("CDS_CARDS_DIR", raising=False)
    monkeypatch.setattr(card_text, "DEFAULT_CARDS_DIR", tmp_path / "site-packages" / "cards")
    with pytest.raises(ConfigError, match=f"^card templates {tmp_path / 'site-packages' / 'cards'} is not a direct"):
        _start(tmp_path)


def test_the_criteria_macro_unpacks_every_field_of_a_criterion_in_order() -> None:
    """decision.j2 unpacks each CriterionResult by position: a field added or moved must be named there too,
    or each line would print one field under another's name."""
    text = (ROOT / "cards" / "decision.j2").read_text(encoding="utf-8")
    loop = re.search(r"{% for (.+?) in items %}", text)
    assert loop is not None and tuple(loop.group(1).split(", ")) == CriterionResult._fields


@pytest.mark.parametrize(("name", "typo", "error"), [
    ("decision.j2", ("d.payer_label }}: {% if", "d.payer_lable }}: {% if"),  # the heading
     "'cds_service.decision.Decision object' has no attribute 'payer_lable'"),
    ("decision.j2", ("{{ citation }}", "{{ citaton }}"), "'citaton' is undefined"),  # a criterion's line
    ("dose-below.j2", ("{{ schedule_text }}", "{{ schedule }}"), "'schedule' is undefined"),
    ("quantity-over.j2", ("limit.vials", "limit.vial"),
     "'cds_service.dosing.api.QuantityLimit object' has no attribute 'vial'"),
])
def test_a_misspelt_variable_in_an_operators_copy_stops_the_start_up_naming_template_and_line(
        tmp_path: Path, cards_dir: Path, name: str, typo: tuple[str, str], error: str) -> None:
    """It compiles, so it used to pass the start-up and turn every order reaching the template into an "evaluation
    failed" card. The line named is the one the typo is on."""
    path = cards_dir / name
    text = path.read_text(encoding="utf-8")
    line = next(number for number, content in enumerate(text.splitlines(), 1) if typo[0] in content)
    path.write_text(text.replace(*typo, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^CDS_CARDS_DIR {cards_dir}: {re.escape(name)} line {line}: "
                                          f"{re.escape(error)}$"):
        _start(tmp_path)


def test_a_template_failing_otherwise_is_named_too(tmp_path: Path, cards_dir: Path) -> None:
    (cards_dir / "evaluation-failed.j2").write_text("{% set summary %}x{% endset %}{{ 1 // 0 }}\n")
    with pytest.raises(ConfigError, match=f"^CDS_CARDS_DIR {cards_dir}: evaluation-failed.j2 line 1: "
                                          "integer division or modulo by zero$"):
        _start(tmp_path)


def _returned_keys(function: ast.FunctionDef) -> set[str]:
    returns = [node.value for node in ast.walk(function) if isinstance(node, ast.Return)]
    return {key.value for value in returns if isinstance(value, ast.Dict)
            for key in value.keys if isinstance(key, ast.Constant)}


def _contexts_passed() -> dict[str, set[frozenset[str]]]:
    """For each template the code renders, the sets of names it passes: render_card's keywords, with the keys of
    the dict literal that a helper of the same module returns, unpacked as `**helper(...)` or `**name` for
    `name = helper(...)`."""
    passed: dict[str, set[frozenset[str]]] = {}
    for path in (ROOT / "cds_service").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
        returned = {function.name: _returned_keys(function) for function in functions}
        for function in functions:
            helpers = {target.id: node.value for node in ast.walk(function) if isinstance(node, ast.Assign)
                       for target in node.targets if isinstance(target, ast.Name)}
            for call in ast.walk(function):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "render_card":
                    template = call.args[0]
                    assert isinstance(template, ast.Constant), ast.unparse(call)
                    names = {keyword.arg for keyword in call.keywords if keyword.arg}
                    for keyword in call.keywords:
                        if keyword.arg is None:
                            value = helpers[keyword.value.id] if isinstance(keyword.value, ast.Name) else keyword.value
                            assert isinstance(value, ast.Call) and isinstance(value.func, ast.Name), ast.unparse(call)
                            names |= returned[value.func.id]
                    passed.setdefault(template.value, set()).add(frozenset(names))
    return passed


def test_the_start_up_samples_pass_what_the_code_passes_to_each_template() -> None:
    """A sample lacking a name the code passes would refuse an operator's template that uses it; one with a name the
    code does not pass would accept a template that fails on every order."""
    sampled: dict[str, set[frozenset[str]]] = {}
    for name, context in SAMPLES:
        sampled.setdefault(name, set()).add(frozenset(context))
    assert sampled == _contexts_passed()


def test_a_summary_too_long_is_cut_after_a_whole_word(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last resort for a template's summary over the limit had cut within a word ("…label is 28 mcg/d…")."""
    (tmp_path / "long.j2").write_text("{% set summary %}" + "word " * 27 + "1234567890{% endset %}detail")
    monkeypatch.setenv(card_text.ENV_DIR, str(tmp_path))
    summary = card_text.render_card("long.j2").summary
    assert summary == ("word " * 27).strip() + "…" and len(summary) < card_text.SUMMARY_LIMIT
