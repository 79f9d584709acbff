"""Payer policies as data (one TOML file per policy) and the engine that evaluates them."""
from cds_service.policies.engine import (Policy, PolicyFileError, check_policies, evaluate_policy, load_policy,
                                         parse_policy, payer_labels, policy_ids)

__all__ = ["Policy", "PolicyFileError", "check_policies", "evaluate_policy", "load_policy", "parse_policy", "payer_labels",
           "policy_ids"]
