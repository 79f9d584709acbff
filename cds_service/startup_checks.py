"""The checks of the clinical files a start-up makes before serving (the app) or evaluating (`cds-service evaluate`):
the value sets, the policy files and the card templates in use can be read and used. A mistake stops the start with
one line naming the file, instead of failing the first order of that plan with an "evaluation failed" card."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from jinja2 import TemplateSyntaxError

from cds_service import card_text, valuesets
from cds_service.card_samples import SAMPLES
from cds_service.config import ConfigError
from cds_service.facts.coverage import routed_policy_ids
from cds_service.policies import check_policies, loading, policy_ids

log = logging.getLogger(__name__)


def check_files() -> None:
    """The value sets, the policy files and the card templates in use can be read and used (ConfigError if not)."""
    try:
        _check_readable_folders()
        _check_clinical_data()
        _check_card_templates()
    except OSError as exc:  # a file the service's user may not read (its mode, its owner), or a folder in its place
        raise ConfigError(f"cannot read {exc.filename}: {exc.strerror}") from None


def _check_readable_folders() -> None:
    """An operator's folder the service's user may not list: its files were not found, silently, and the shipped
    policies and value sets applied instead of them (a newer policy version, a payer's identifiers)."""
    for variable in (valuesets.ENV_DIR, loading.ENV_DIR, card_text.ENV_DIR):
        folder = os.environ.get(variable)
        if folder and os.path.isdir(folder) and not os.access(folder, os.R_OK | os.X_OK):
            raise ConfigError(f"{variable}={folder} cannot be read by this user: its files would be left out")
        if folder and os.path.isdir(folder) and variable in _FILES_READ:
            _check_holds_files(variable, Path(folder))


# What the service reads of an operator's policy or value-set folder: other files are ignored.
_FILES_READ = {loading.ENV_DIR: ("policy", ".toml"), valuesets.ENV_DIR: ("value set", ".json")}
_NAMES_SHOWN = 5


def _check_holds_files(variable: str, folder: Path) -> None:
    """A WARNING for a folder with none of the files read from it (empty, a mount that failed, `plan.TOML` or
    `plan.toml.txt`): the shipped files alone apply, as if the variable were unset, and nothing said so."""
    kind, suffix = _FILES_READ[variable]
    if any(folder.glob(f"*{suffix}")):
        return
    names = sorted(path.name for path in folder.iterdir())
    held = f"it holds {', '.join(names[:_NAMES_SHOWN])}{', ...' if len(names) > _NAMES_SHOWN else ''}" \
        if names else "it is empty"
    log.warning("%s=%s holds no %s file (*%s; %s): the shipped %s files alone apply", variable, folder, kind, suffix,
                held, kind)


def _check_clinical_data() -> None:
    """Read the value sets and policy files now: a mistake in them stops the start-up with a message, instead of
    failing the first order of that plan with an "evaluation failed" card."""
    try:
        routed = routed_policy_ids()
        check_policies(routed)
    except ValueError as exc:  # PolicyFileError, and the value sets' errors (a missing CDS_VALUESET_DIR, bad JSON)
        raise ConfigError(str(exc)) from exc
    unrouted = sorted(set(policy_ids()) - routed)
    if unrouted:  # an operator's file without its payers.json entry: loaded and announced, yet never applied
        log.warning("no payer is routed to the policies %s (payers value set, docs/data-requirements.md): no order "
                    "is decided by them", ", ".join(unrouted))


def _check_card_templates() -> None:
    """Every card template is in the cards folder, compiles and renders the sample contexts: without one, an order
    gets no card and no coverage information at all (the "evaluation failed" card is a template too), so a wrong
    CDS_CARDS_DIR, an install without the templates, or a misspelt variable in an operator's copy stops the start-up
    instead."""
    directory = card_text.cards_dir()
    where = f"{card_text.ENV_DIR} {directory}" if os.environ.get(card_text.ENV_DIR) else f"card templates {directory}"
    if not directory.is_dir():
        raise ConfigError(f"{where} is not a directory")
    missing = card_text.missing_templates(directory)
    if missing:
        raise ConfigError(f"{where} lacks {', '.join(missing)}")
    try:
        card_text.compile_templates(directory)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"{where}: {exc.name} line {exc.lineno}: {exc.message}") from None
    problem = card_text.render_problem(directory, SAMPLES)
    if problem:
        raise ConfigError(f"{where}: {problem}")
