"""A text written to stand alone read on inside a sentence: the one rule for its first letter.

A question of the attestation Questionnaire ("Therapy phase of this blinatumomab course"), a criterion's text or a
note ("Weight 25 kg on ...") opens with a capital; joined after "; ", a colon or "requires", it reads on lowercased.
An abbreviation or a proper noun keeps its capitals wherever it stands: "Ph+", "CD19", "MRD", "T315I", "B-cell",
"Philadelphia", the drugs' brand names. Every card text and fact note that joins such a text uses `mid_sentence`:
the readers had each their own rule (one lowercased "Ph", another left "Complete response" capitalized after "; ").
"""
from __future__ import annotations

import re

# The first word: capitals then lowercase letters, ended by anything but a letter or a digit (a space, "-", ":",
# "+"): "CD19", "MRD" and "T315I" never match, "Ph+" and "B-cell" match as "Ph" and "B".
_FIRST_WORD = re.compile(r"[A-Z][a-z]*(?![A-Za-z0-9])")
# Words of one or two letters are abbreviations ("Ph", "Hb", "B-cell") unless they are these English words.
_SHORT_WORDS = frozenset({"A", "An", "As", "At", "By", "If", "In", "No", "Of", "On", "Or", "To", "Up"})
# Proper nouns a card's text may open with, written as a word: a chromosome named for a city, a regimen, the BSA
# formula's author, and the brand names of the drugs the service names (blinatumomab, inotuzumab, the TKIs of
# valuesets/medications-tki.json), as prescribers and EHRs write them.
PROPER_NOUNS = frozenset({
    "Philadelphia", "Interfant", "Mosteller", "Blincyto", "Besponsa", "Gleevec", "Glivec", "Sprycel", "Bosulif",
    "Tasigna", "Iclusig", "Scemblix",
})


def mid_sentence(text: str) -> str:
    """`text` as it reads on inside a sentence: its first word lowercased when it is a plain capitalized word ("Age
    from 1 month" → "age from 1 month", "A start" → "a start"), never an abbreviation or a proper noun."""
    found = _FIRST_WORD.match(text)
    if found is None:
        return text
    word = found.group()
    if (len(word) < 3 and word not in _SHORT_WORDS) or word in PROPER_NOUNS:
        return text
    return text[0].lower() + text[1:]


def listed(items: list[str]) -> str:
    """Items named in full, read as a list: "A and B", "A; B and C" (an item may hold a comma: "induction regimen,
    or candidacy for multi-agent chemotherapy"). "document ALL diagnosis; therapy phase of this course to confirm
    coverage" had read as two requests, the second to confirm coverage."""
    return " and ".join(("; ".join(items[:-1]), items[-1])) if len(items) > 1 else "".join(items)
