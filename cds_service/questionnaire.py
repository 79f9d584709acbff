"""The attestation Questionnaire: what structured data cannot say (fhir-data-profile.md §Attestations).

Served at GET /fhir/Questionnaire/blinatumomab-coverage-attestation and named by the decision cards and the CRD
coverage-information `questionnaire` sub-extension when information is needed.
"""
from __future__ import annotations

from typing import Any

QUESTIONNAIRE_ID = "blinatumomab-coverage-attestation"
QUESTIONNAIRE_VERSION = "1.0.1"  # 1.0.1: compendia-supported-use asks what Florida Blue 2.a asks

# linkId, answer type, question text (our words), answer options for the string vocabularies: each code (what an EHR
# sends, fhir-data-profile.md §Attestations) with its words, which a card shows for it. An item counted only for the
# current course (attestations.COURSE_ITEMS, and the renewal's two) says so ("this course", "now"): otherwise a
# clinician could not know that an answer given for an earlier course no longer counts. A yes/no question is asked
# plainly, so that its line on a card ("<question>: no") reads without a double negative.
ITEMS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("therapy-phase", "choice", "Therapy phase of this blinatumomab course",
     (("induction", "induction"), ("consolidation", "consolidation"), ("maintenance", "maintenance"),
      ("relapsed-refractory", "relapsed or refractory disease"))),
    ("combination", "choice", "How blinatumomab is used in this order",
     (("single-agent", "as a single agent"), ("with-tki", "with a tyrosine kinase inhibitor (TKI)"),
      ("with-ino-mini-hyper-cvd", "with inotuzumab ozogamicin + mini-hyper-CVD"),
      ("alternating-with-pomp", "as a single agent alternating with POMP"),
      ("with-interfant", "with an Interfant chemotherapy protocol"),
      ("with-multiagent-chemo", "with multi-agent chemotherapy"))),
    ("cycle-number", "integer", "Cycle number of this order within the course", ()),
    ("complete-response-to-induction", "boolean",
     "Complete response after the induction therapy before this course", ()),
    ("induction-ino-mini-hyper-cvd", "boolean",
     "Induction before this course was inotuzumab ozogamicin + mini-hyper-CVD", ()),
    ("multiagent-chemo-candidate", "boolean", "Candidate for multi-agent chemotherapy now", ()),
    ("mrd-unavailable", "boolean", "MRD result is not available for this course", ()),
    ("mrd-percent", "decimal",
     "Latest MRD before this course, percent of cells (when no lab result is in the record)", ()),
    ("ph-positive", "boolean", "Philadelphia chromosome / BCR::ABL1 positive at diagnosis", ()),
    ("b-cell-precursor", "boolean", "B-cell precursor lineage", ()),
    ("diagnosed-before-age-1", "boolean", "ALL diagnosed before 1 year of age", ()),
    ("remission-number", "integer", "Complete remission number when this course begins (1 = first, 2 = second)", ()),
    ("end-of-consolidation-response", "choice", "Response at the end of the consolidation before this course",
     (("complete", "complete response"), ("less-than-complete", "less than complete response"))),
    ("tki-failure", "boolean", "Intolerance, inadequate response or contraindication to at least one TKI", ()),
    ("prior-authorization-on-file", "boolean", "Blinatumomab authorized by a health plan", ()),  # + look-back
    ("unacceptable-toxicity", "boolean", "Unacceptable toxicity on blinatumomab during this course", ()),
    ("response-or-stabilization", "boolean", "Response or stable disease on blinatumomab during this course", ()),
    # Florida Blue Position 2.a in our words, both of its branches with what each requires: "an FDA-labeled use" had
    # left out that the label's Indications and Usage requirements must be met too, and that NCCN rates both the
    # indication and the usage.
    ("compendia-supported-use", "boolean",
     "This course treats a diagnosis consistent with an indication on the FDA-approved label, meeting the label's "
     "Indications and Usage requirements, or an indication and usage the NCCN Drugs and Biologics Compendium rates "
     "category 1 or 2A (Florida Blue Position 2.a)", ()),
)


QUESTIONS = {link_id: text for link_id, _, text, _ in ITEMS}  # linkId -> question, as written above
# A question too long for a card line, in short, as a card names the answer used: the criterion beside it says what
# the payer requires in full, and the Questionnaire keeps the whole question (the card had repeated it twice).
CARD_QUESTIONS = {"compendia-supported-use": "FDA-labeled or NCCN category 1/2A use"}
# linkId -> its answer codes, each with its words (the one table of them: cards never reword a code themselves).
ANSWER_WORDS = {link_id: dict(options) for link_id, _, _, options in ITEMS if options}
PRIOR_AUTHORIZATION = "prior-authorization-on-file"


def question(link_id: str) -> str:
    """An item's question, as the Questionnaire asks it and cards name the answers used. The prior authorization is
    asked within the shortest look-back the policy files give it (Florida Blue: "in the past 2 years"), so that a
    yes holds for every plan; each plan also counts an answer only if authored within its own."""
    text = QUESTIONS.get(link_id, link_id)
    years = _look_back_years() if link_id == PRIOR_AUTHORIZATION else None
    return text if years is None else f"{text} in the past {years} year{'' if years == 1 else 's'}"


def card_question(link_id: str) -> str:
    """An item's question as a card names the answer used: `question`, in short where CARD_QUESTIONS gives it."""
    return CARD_QUESTIONS.get(link_id) or question(link_id)


def _look_back_years() -> int | None:
    # Imported here: the policies read the facts, which read this module's ITEMS when they are imported.
    from cds_service.policies.loading import load_policy, policy_ids

    years = [numbers["look_back_years"] for policy_id in policy_ids()
             for fact, numbers in load_policy(policy_id).windows if fact == "prior_authorization_on_file"]
    return min(years, default=None)


def questionnaire_url(base_url: str) -> str:
    """The Questionnaire's canonical URL, which is also where this service serves it."""
    return f"{base_url.rstrip('/')}/fhir/Questionnaire/{QUESTIONNAIRE_ID}"


def attestation_questionnaire(base_url: str) -> dict[str, Any]:
    """The FHIR R4 Questionnaire resource (JSON)."""
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": questionnaire_url(base_url),
        "version": QUESTIONNAIRE_VERSION,
        "name": "BlinatumomabCoverageAttestation",
        "title": "Blinatumomab (Blincyto) coverage: prescriber attestation",
        "status": "active",
        "subjectType": ["Patient"],
        "description": "Facts the health plan criteria need that the record does not hold in structured form. "
                       "An answer overrides what the service infers from other data for that item.",
        "item": [_item(link_id, answer_type, options) for link_id, answer_type, _, options in ITEMS],
    }


def _item(link_id: str, answer_type: str, options: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": link_id, "text": question(link_id), "type": answer_type, "required": False}
    if options:  # the codes as valueString (the data profile's answers): R4 gives a string option no display
        item["answerOption"] = [{"valueString": code} for code, _ in options]
    return item
