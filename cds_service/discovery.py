"""The CDS Hooks discovery document (service-contract.md §Endpoints): one service id, listed once per hook."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from cds_service import SERVICE_DESCRIPTION, SERVICE_ID, SERVICE_TITLE
from cds_service.card_config import DEFAULT_MAX_CARDS
from cds_service.hook_request import ORDER_SELECT, ORDER_SIGN
from cds_service.record import PREFETCH_TEMPLATES

# In the order of the discovery entries: order-sign last. The public CDS Hooks sandbox keeps one service per discovery
# URL and id, the last entry listed, and the contract gives both hooks one id: order-sign, which carries the coverage
# decision and CRD's coverage information, is the one it must keep.
HOOKS = (ORDER_SELECT, ORDER_SIGN)
CRD_VERSION = "2.2"

# Da Vinci CRD configuration options: a boolean per card type the service returns, plus the CRD-defined ones.
CONFIGURATION_OPTIONS: tuple[dict[str, Any], ...] = (
    {
        "code": "coverage-info",
        "type": "boolean",
        "name": "Coverage decision",
        "description": "Return the payer coverage decision cards and the coverage-information system actions.",
        "default": True,
    },
    {
        "code": "off-guideline",
        "type": "boolean",
        "name": "Dose checks",
        # Every card of the topic: the dose cards, and those on the label's days and cycles and on duplicate orders.
        "description": "Return cards for doses above the label dose or well below the expected dose, for infusion "
                       "days outside the label's cycle, and for orders spanning cycles or likely duplicated.",
        "default": True,
    },
    {
        "code": "limits",
        "type": "boolean",
        "name": "Plan limits",
        # {limits}: each plan's own, from its policy file (Plan.limits), so that a plan added as data is named too.
        "description": "Return cards for an ordered quantity or daily dose above the plan's own limit{limits}, with a "
                       "one-click correction.",
        "default": True,
    },
    {
        "code": "unsolicited-determ",
        "type": "boolean",
        "name": "Unsolicited determination",
        "description": "Allow a met decision to be returned as a satisfied prior authorization; false for what-if "
                       "calls.",
        "default": True,
    },
    {
        "code": "max-cards",
        "type": "integer",
        "name": "Maximum cards",
        "description": "The most cards to return, decision cards first.",
        "default": DEFAULT_MAX_CARDS,
    },
)
# Former option codes, not offered any more but still read (deprecated): an EHR configured against one keeps working.
# "off-label" is no code of the cdshooks-card-type code system; the dose cards' topic is "off-guideline".
RENAMED_OPTIONS = {"off-label": "off-guideline"}


class Plan(NamedTuple):
    """A health plan the service applies, as the discovery document names it: by the name its members know, with
    the limits of its own that the `limits` cards apply ("28 vials per cycle", "28 mcg/day"), if any."""

    label: str
    limits: tuple[str, ...] = ()


def _option(option: dict[str, Any], limits: str) -> dict[str, Any]:
    if option["code"] != "limits":
        return dict(option)
    return {**option, "description": option["description"].format(limits=f" ({limits})" if limits else "")}


def _service_entry(hook: str, plans: str, limits: str) -> dict[str, Any]:
    return {
        "hook": hook,
        "id": SERVICE_ID,
        "title": SERVICE_TITLE,
        "description": SERVICE_DESCRIPTION.format(plans=plans),
        "prefetch": dict(PREFETCH_TEMPLATES),
        "extension": {
            "davinci-crd.version": [CRD_VERSION],
            "davinci-crd.configuration-options": [_option(option, limits) for option in CONFIGURATION_OPTIONS],
        },
    }


def discovery_document(plans: Iterable[Plan]) -> dict[str, Any]:
    """The document announcing the service, whose description names the health `plans` it applies, and whose
    `limits` option their own limits (read from the policies by the composition root: this protocol module does not
    import them)."""
    applied = list(plans)
    listed = ", ".join(plan.label for plan in applied)
    limits = "; ".join(f"{plan.label}: {', '.join(plan.limits)}" for plan in applied if plan.limits)
    return {"services": [_service_entry(hook, listed, limits) for hook in HOOKS]}
