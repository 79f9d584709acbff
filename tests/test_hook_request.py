"""HookRequest (hook_request.py) writes its own __init__: it must behave as the frozen dataclass's generated one."""
from __future__ import annotations

import dataclasses
import inspect

import pytest

from cds_service.hook_request import ORDER_SIGN, HookRequest


def test_init_is_the_dataclass_fields() -> None:
    """Its parameters are the fields, in order, with their defaults (None for a default_factory's new dict), so
    construction, equality, repr and dataclasses.replace behave as the generated __init__ would."""
    fields = dataclasses.fields(HookRequest)
    parameters = list(inspect.signature(HookRequest.__init__).parameters.values())[1:]
    assert [p.name for p in parameters] == [f.name for f in fields]
    assert [p.default for p in parameters] == [
        None if f.default_factory is not dataclasses.MISSING
        else inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fields]
    request = HookRequest(ORDER_SIGN, "i-1", "svc", "p-1", {"resourceType": "Bundle"}, tenant="t")
    assert vars(request) == {f.name: getattr(request, f.name) for f in fields}
    assert request.prefetch == {} and request.configuration == {} and request.selections == ()
    other = HookRequest(ORDER_SIGN, "i-1", "svc", "p-1", {"resourceType": "Bundle"}, tenant="t")
    assert request == other and request.prefetch is not other.prefetch  # a new dict each, as default_factory
    changed = dataclasses.replace(request, prefetch={"patient": {}}, user_id="u")
    assert (changed.prefetch, changed.user_id, changed.tenant) == ({"patient": {}}, "u", "t") and changed != request
    assert "fhir_authorization" not in repr(request) and "prefetch" not in repr(request)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.hook = "order-select"  # type: ignore[misc]
