"""Payer policies as data (one TOML file per policy) and the engine that evaluates them."""
from cds_service.policies.engine import evaluate_policy
from cds_service.policies.loading import check_policies, load_policy, parse_policy, payer_labels, policy_ids
from cds_service.policies.model import Policy
from cds_service.policies.vocabulary import PolicyFileError

__all__ = ["Policy", "PolicyFileError", "check_policies", "evaluate_policy", "load_policy", "parse_policy", "payer_labels",
           "policy_ids"]
