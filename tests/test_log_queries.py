"""A request line's query string never reaches a log (log_format.without_query): gunicorn's warning for a request it
refuses quotes its request line, or what it took for the version, and its error for a request it could parse quotes
the target. The filter stopped at a space or a quote, so a query holding one leaked the rest (`?a=b c HTTP/1.1` made
gunicorn log the version 'c HTTP/1.1', no "?" left to cut). Each line is read by gunicorn's own parser here, and
logged in the words of its worker (gunicorn/workers/base.py, handle_error)."""
from __future__ import annotations

import io
import logging

import pytest
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser

from cds_service.gunicorn_config import _NoSecrets
from cds_service.log_format import without_query

# Request lines each holding secrets (s1, s2, ...) in its query: spaces, quotes of either kind, a control character,
# a version after them or none, and what gunicorn logs of each with the query cut.
REFUSED = [
    (b"GET /cds-services?access_token=s1 s2 HTTP/1.1", "Invalid HTTP Version: <not logged>"),
    (b"GET /x?a=\"s3'  s4 HTTP/1.1", "Invalid HTTP Version: <not logged>"),
    (b"GET /x?a=s5 HTTP/1.1 s6", "Invalid HTTP Version: <not logged>"),
    (b"GET /x?s7 s8", "Invalid HTTP Version: <not logged>"),
    (b"GET /cds-services?access_token=s9", "Invalid HTTP request line: 'GET /cds-services'"),
    (b"GET /x?a=\x01s10' HTTP/1.1", "Invalid HTTP request line: \"GET /x HTTP/1.1\""),
    (b"GET /x?a=\x01s11\" HTTP/1.1", "Invalid HTTP request line: 'GET /x HTTP/1.1'"),
    (b"G?s12 /x HTTP/1.1", "Invalid HTTP method: 'G'"),
    (b"GET /x?mrn= 123456", "Invalid HTTP Version: <not logged>"),  # a number alone read as the version
    (b"GET /x#access_token=s13", "Invalid HTTP request line: 'GET /x'"),  # a fragment, as an implicit grant has it
]


def logged(message: str) -> str:
    record = logging.LogRecord("gunicorn.error", logging.WARNING, __file__, 0, message, (), None)
    assert _NoSecrets().filter(record)
    return record.getMessage()


def refusal(line: bytes) -> str:
    """gunicorn's warning for the request line, as its worker logs it."""
    with pytest.raises(Exception) as refused:
        next(iter(RequestParser(Config(), io.BytesIO(line + b"\r\nHost: x\r\n\r\n"), ("127.0.0.1", 1))))
    return f"Invalid request from ip=127.0.0.1: {refused.value}"


@pytest.mark.parametrize("line, shown", REFUSED)
def test_a_refused_request_lines_query_is_never_logged(line: bytes, shown: str) -> None:
    assert logged(refusal(line)) == f"Invalid request from ip=127.0.0.1: {shown}"


@pytest.mark.parametrize("target", ["/x?a='s1", "/x?a=\"s1", "/x?a=s1'&b=s2", "/x?a=%20s1", "/x#access_token=s1"])
def test_the_target_of_a_request_gunicorn_failed_to_answer_is_logged_without_its_query(target: str) -> None:
    parsed = next(iter(RequestParser(Config(), io.BytesIO(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
                                     ("127.0.0.1", 1))))
    assert logged(f"Error handling request {parsed.method} {parsed.uri}") in (
        "Error handling request GET /x", "Error handling request GET /x'", "Error handling request GET /x\"")


def test_a_version_that_reads_as_one_is_kept() -> None:
    assert logged(refusal(b"GET /x?a=1 HTTP/3.0")).endswith("Invalid HTTP Version: (3, 0)")
    assert without_query("code 400, message Bad request version ('HTTP/1.1')").endswith("('HTTP/1.1')")
    assert without_query("code 400, message Bad request syntax ('GET /?s1 s2 HTTP/1.1')") == (
        "code 400, message Bad request syntax ('GET / HTTP/1.1')")
    assert without_query("code 400, message Bad request version ('s1')") == (
        "code 400, message Bad request version (<not logged>)")
    assert without_query("code 400, message Bad request version ('123456')") == (
        "code 400, message Bad request version (<not logged>)")


def test_a_message_without_a_query_is_left_as_it_is() -> None:
    for message in ("Worker (pid:12) was sent SIGKILL! Perhaps out of memory?", "GET /cds-services HTTP/1.1"):
        assert without_query(message) == message
