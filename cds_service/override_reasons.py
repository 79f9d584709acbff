"""The reasons a clinician may give for overriding a decision card (CDS Hooks 2.0 `overrideReasons`): offered by the
cards, stored from the feedback EHRs send back. Its own module so that the feedback endpoint, a protocol module, does
not import the clinical cards."""
from __future__ import annotations

import re

OVERRIDE_REASONS = (
    ("criteria-met-documentation-to-follow", "Criteria are met; documentation will be sent to the plan"),
    ("plan-exception-requested", "Exception or peer-to-peer review requested from the plan"),
    ("proceed-without-coverage", "Proceeding; patient informed that the plan may not cover it"),
)
# The override reasons' code system. FHIR makes a code system's canonical URL the same wherever it is used ("It SHALL
# remain the same when the code system is stored on different servers"), and service-contract.md names none: one
# fixed URI, so that feedback codes read the same in every environment's audit trail. A URN: nothing is published at
# it, and the service owns no domain to publish under.
OVERRIDE_REASON_SYSTEM = "urn:uuid:8c957449-5246-4cca-9e22-88c4dbfbf5d7"
# Cards issued before named `<public base URL>/fhir/CodeSystem/coverage-override-reason`, which differed between
# environments (and servers): feedback still returns it on those cards.
_BASE_URL_OVERRIDE_SYSTEM = re.compile(r"https?://[^/?#]+(?:/[^?#]*)?/fhir/CodeSystem/coverage-override-reason")


# Not offered on a critical card (the label, or the plan, says the drug is to stop or wait): a coded "proceeding,
# the plan may not pay" would record going on against that word as a mere matter of coverage.
_PROCEEDING = "proceed-without-coverage"


def override_reasons(critical: bool = False) -> list[dict[str, str]]:
    """The reasons as the `overrideReasons` Codings of a card; of a `critical` one, none that proceeds."""
    return [{"system": OVERRIDE_REASON_SYSTEM, "code": code, "display": display} for code, display in OVERRIDE_REASONS
            if not (critical and code == _PROCEEDING)]


def canonical_override_system(system: str) -> str:
    """OVERRIDE_REASON_SYSTEM for either form of it, the fixed one or the base-URL one of cards issued before it;
    any other system (an EHR's own reasons) as it is."""
    return OVERRIDE_REASON_SYSTEM if _BASE_URL_OVERRIDE_SYSTEM.fullmatch(system) else system
