"""CDS_CORS_ORIGINS written with spaces or semicolons between the origins read as one entry that is no origin, and
the message said only that: it now names the separator the list needs."""
from __future__ import annotations

import re

import pytest

from cds_service.config import ConfigError, Settings

SHAPE = re.escape("is not an origin: scheme://host[:port] with no path, e.g. https://ehr.example.org")


@pytest.mark.parametrize("raw", ["https://a.example.org https://b.example.org", "https://a.example.org;https://b.org",
                                 "https://a.example.org; https://b.org", "https://a.example.org\thttps://b.org"])
def test_origins_separated_otherwise_than_by_commas_name_the_separator(raw: str) -> None:
    with pytest.raises(ConfigError, match=f"^CDS_CORS_ORIGINS .+ {SHAPE}; separate the origins with commas$"):
        Settings.from_env({"CDS_CORS_ORIGINS": raw})


@pytest.mark.parametrize("raw", ["ehr.example.org", "https://ehr.example.org/path", "*.example.org"])
def test_a_single_entry_that_is_no_origin_names_its_shape_alone(raw: str) -> None:
    with pytest.raises(ConfigError, match=f"^CDS_CORS_ORIGINS {re.escape(repr(raw))} {SHAPE}$"):
        Settings.from_env({"CDS_CORS_ORIGINS": raw})


def test_a_comma_separated_list_with_spaces_is_taken() -> None:
    settings = Settings.from_env({"CDS_CORS_ORIGINS": "https://a.example.org, https://b.example.org:8443"})
    assert settings.cors_origins == ("https://a.example.org", "https://b.example.org:8443")
