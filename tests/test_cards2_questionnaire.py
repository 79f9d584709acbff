"""The attestation of Florida Blue's indication 2 asks what Position 2.a asks, in our words: a diagnosis consistent
with a labeled indication and the label's Indications and Usage requirements met (2.a.i), or an indication and usage
rated category 1 or 2A in the NCCN Drugs and Biologics Compendium (2.a.ii). "An FDA-labeled or NCCN category 1/2A
use" had left out the label's requirements and that NCCN rates the usage too."""
from __future__ import annotations

from typing import Any

from cds_service.questionnaire import attestation_questionnaire, card_question, question
from tests.test_pipeline import example, post

_ASKED = ("diagnosis consistent with an indication on the FDA-approved label",  # 2.a.i
          "meeting the label's Indications and Usage requirements",  # 2.a.i, AND
          "an indication and usage the NCCN Drugs and Biologics Compendium rates category 1 or 2A",  # 2.a.ii
          "(Florida Blue Position 2.a)")


def test_the_questionnaire_asks_what_position_2a_asks() -> None:
    [item] = [i for i in attestation_questionnaire("https://cds.example.org")["item"]
              if i["linkId"] == "compendia-supported-use"]
    assert item["type"] == "boolean" and item["text"] == question("compendia-supported-use")
    assert all(words in item["text"] for words in _ASKED)


def test_the_card_names_the_answer_with_the_question_asked(client: Any) -> None:
    """The question in short (questionnaire.CARD_QUESTIONS): the criterion on the same line says what 2.a requires,
    and the whole question had repeated it."""
    answer = post(client, example("florida-blue-other-compendia-lymphoblastic-lymphoma"))
    [line] = [line for line in answer["cards"][0]["detail"].splitlines() if "evidence: QuestionnaireResponse" in line]
    assert f"{card_question('compendia-supported-use')}: yes (answered" in line
    assert all(words in line for words in ("meeting the label's Indications and Usage requirements",
                                           "an NCCN category 1/2A indication and usage", "Florida Blue Position 2.a"))
