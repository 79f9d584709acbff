"""`cds-service check`: the configuration and the clinical files the service would start with, checked and listed
without serving and without a request: what an operator runs after editing the environment, CDS_POLICY_DIR,
CDS_VALUESET_DIR or CDS_CARDS_DIR, before restarting the service."""
from __future__ import annotations

import argparse
import sys

from sqlalchemy.engine import make_url

from cds_service.card_text import cards_dir
from cds_service.config import ConfigError, Settings
from cds_service.facts.coverage import routed_policy_ids
from cds_service.jwks import inline_key_sets
from cds_service.policies import load_policy, policy_ids
from cds_service.startup_checks import check_files
from cds_service.valuesets import get_valuesets


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("check", help="check the configuration and the policy, value-set and card files the "
                                               "service would start with, and list what it would apply")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:  # what the service reads and checks at start-up, in the same words
        settings = Settings.from_env()
        check_files()
        if settings.auth is not None:
            inline_key_sets(settings.auth)
    except ConfigError as exc:
        print(f"cds-service check: {exc}", file=sys.stderr)
        return 2
    routed = routed_policy_ids()
    for policy_id in policy_ids():
        policy = load_policy(policy_id)
        unrouted = "" if policy_id in routed else "; no payer is routed to it (payers value set): never applied"
        print(f"policy {policy_id}: {policy.payer_label}, version {policy.version}, file {policy.digest} "
              f"({policy.source}){unrouted}")
    print(f"value sets: digest {get_valuesets().digest}")
    print(f"card templates: {cards_dir()}")
    mode = "JWT required (CDS_AUTH_CONFIG)" if settings.auth else "local mode: no JWT required (no CDS_AUTH_CONFIG)"
    print(f"{mode}; public base URL {settings.public_base_url}")
    print(f"audit database: {make_url(settings.database_url).render_as_string(hide_password=True)}")
    return 0
