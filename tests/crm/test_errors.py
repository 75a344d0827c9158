"""Vendor errors are translated once per adapter; no SDK exception class is left unmapped; PII is masked."""
from __future__ import annotations

import inspect
import json
import logging

import pytest
import responses
from hubspot.crm.contacts import exceptions as contact_exc
from hubspot.crm.owners import exceptions as owner_exc
from simple_salesforce import exceptions as sf_exc

from connector.core.errors import CrmAuthError, CrmError, CrmRejectedError, CrmTransientError
from connector.crm import hubspot as hs_adapter
from connector.crm import salesforce as sf_adapter
from connector.crm.base import Change, RetryPolicy


def exception_classes(module) -> list[type]:
    return [cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Exception) and cls.__module__ == module.__name__]


def instance(cls: type) -> Exception:
    """An instance of an SDK exception class, whatever its constructor wants."""
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
    if issubclass(cls, sf_exc.SalesforceError) and cls is not sf_exc.SalesforceAuthenticationFailed:
        return cls("https://x/services/data", 400, "Lead", [{"errorCode": "X", "message": "m"}])
    return cls(*["x"] * len(params))


@pytest.mark.parametrize("cls", exception_classes(contact_exc) + exception_classes(owner_exc),
                         ids=lambda c: f"{c.__module__.split('.')[-2]}.{c.__name__}")
def test_every_hubspot_sdk_exception_is_translated(cls):
    assert isinstance(hs_adapter.translate(instance(cls)), CrmError)


@pytest.mark.parametrize("cls", exception_classes(sf_exc), ids=lambda c: c.__name__)
def test_every_simple_salesforce_exception_is_translated(cls):
    assert isinstance(sf_adapter.translate(instance(cls)), CrmError)


class FakeResponse:
    def __init__(self, status, body, headers=None):
        self.status, self.reason, self.data = status, "reason", json.dumps(body).encode()
        self._headers = headers or {}

    def getheaders(self):
        return self._headers


@pytest.mark.parametrize("status,body,headers,expected,retry_after", [
    (429, {"category": "RATE_LIMITS", "message": "ten_secondly_rolling"}, {"Retry-After": "3"}, CrmTransientError, 3.0),
    (429, {"category": "RATE_LIMITS"}, {}, CrmTransientError, 10.0),
    (502, {"message": "bad gateway"}, {}, CrmTransientError, None),
    (401, {"category": "INVALID_AUTHENTICATION"}, {}, CrmAuthError, None),
    (403, {"category": "MISSING_SCOPES"}, {}, CrmAuthError, None),
    (400, {"category": "VALIDATION_ERROR", "message": "bad"}, {}, CrmRejectedError, None),
    (409, {"category": "CONFLICT"}, {}, CrmRejectedError, None),
], ids=["rate-limited-with-retry-after", "rate-limited-bare", "bad-gateway", "unauthorized", "missing-scopes",
        "validation", "conflict"])
def test_hubspot_statuses_map_to_what_the_caller_must_do(status, body, headers, expected, retry_after):
    err = hs_adapter.translate(contact_exc.ApiException(http_resp=FakeResponse(status, body, headers)))
    assert type(err) is expected and err.retry_after == retry_after and err.status == status


@pytest.mark.parametrize("status,code,expected", [
    (403, "REQUEST_LIMIT_EXCEEDED", CrmTransientError),
    (503, "SERVER_UNAVAILABLE", CrmTransientError),
    (401, "INVALID_SESSION_ID", CrmAuthError),
    (403, "INSUFFICIENT_ACCESS", CrmAuthError),
    (400, "INVALID_FIELD", CrmRejectedError),
    (404, "NOT_FOUND", CrmRejectedError),
])
def test_salesforce_error_codes_map_to_what_the_caller_must_do(status, code, expected):
    cls = {400: sf_exc.SalesforceMalformedRequest, 401: sf_exc.SalesforceExpiredSession,
           403: sf_exc.SalesforceRefusedRequest, 404: sf_exc.SalesforceResourceNotFound}.get(status, sf_exc.SalesforceGeneralError)
    err = sf_adapter.translate(cls("https://x", status, "Lead", [{"errorCode": code, "message": "m"}]))
    assert type(err) is expected


def test_crm_messages_reaching_logs_have_personal_data_masked(salesforce, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    results = salesforce.push([Change("1", {"LastName": "X", "Company": "Y",
                                                "Status": "jane.doe@corp.example +49 170 1234567"},
                                      external_id="1")])
    sandbox.set_faults(error_rate=1.0)
    salesforce.push([Change("2", {"LastName": "X", "Company": "Y", "Email": "jane.doe@corp.example"}, external_id="2")])
    assert results[0].status == "parked"
    assert "jane.doe" not in results[0].message and "j***@corp.example" in results[0].message
    assert "1234567" not in results[0].message
    assert "jane.doe" not in caplog.text


@responses.activate
def test_salesforce_collection_upsert_request_shape():
    """One request pinned exactly (simple-salesforce speaks through requests): a PATCH to the collection
    upsert by external id, allOrNone false, each record typed; the result maps back by position."""
    from simple_salesforce import Salesforce

    from connector.crm.salesforce import SalesforceAdapter

    url = "https://acme.my.salesforce.com/services/data/v59.0/composite/sobjects/Lead/Leadwire_Id__c"
    responses.patch(url, status=200, json=[{"id": "00Q000000000000042", "success": True, "errors": [], "created": True}],
                    headers={"Sforce-Limit-Info": "api-usage=10/15000"})
    sf = Salesforce(instance_url="https://acme.my.salesforce.com", session_id="00Dx!tok", version="59.0")
    adapter = SalesforceAdapter(sf, retry=RetryPolicy(sleep=lambda s: None))
    result = adapter.push([Change("7", {"OwnerId": "005000000000001", "Leadwire_Score__c": 42}, external_id="7")])
    assert result[0].ok and result[0].record_id == "00Q000000000000042"
    request = responses.calls[0].request
    assert request.method == "PATCH" and request.headers["Authorization"] == "Bearer 00Dx!tok"
    assert json.loads(request.body) == {"allOrNone": False, "records": [{
        "attributes": {"type": "Lead"}, "OwnerId": "005000000000001", "Leadwire_Score__c": 42, "Leadwire_Id__c": "7"}]}
    assert sf.api_usage["api-usage"].used == 10
