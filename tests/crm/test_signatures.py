"""HubSpot signature checks: v3 with the public URI and a 5-minute window, v1 and v2."""
from __future__ import annotations

import pytest
from hubspot.utils.signature import Signature

from connector.crm.signatures import SignatureError, public_uri, verify_hubspot

SECRET = "hs-client-secret"
BODY = b'[{"eventId":1,"objectId":51}]'
NOW = 1_767_600_000_000
URI = "https://leads.example.com/hooks/hubspot"


def v3_headers(uri=URI, stamp=NOW, secret=SECRET, body=BODY):
    sig = Signature.get_signature(secret, body.decode(), "v3", uri, "POST", str(stamp))
    return {"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": str(stamp)}


def verify(headers, uri=URI, body=BODY, now=NOW, **kwargs):
    return verify_hubspot(SECRET, headers, method="POST", uri=uri, body=body, now_ms=now, **kwargs)


def test_a_v3_signature_from_hubspots_own_sdk_is_accepted():
    assert verify(v3_headers()) == "v3"


@pytest.mark.parametrize("headers,now,match", [
    (v3_headers(secret="other"), NOW, "does not match"),
    (v3_headers(), NOW + 5 * 60 * 1000 + 1, "more than 5 minutes"),
    (v3_headers(uri="http://10.0.0.7:8000/hooks/hubspot"), NOW, "does not match"),
    ({**v3_headers(), "X-HubSpot-Request-Timestamp": "yesterday"}, NOW, "not a number"),
    ({}, NOW, "no X-HubSpot-Signature"),
], ids=["bad-secret", "stale", "signed-for-internal-uri", "bad-timestamp", "unsigned"])
def test_bad_stale_and_wrong_uri_signatures_are_refused(headers, now, match):
    with pytest.raises(SignatureError, match=match):
        verify(headers, now=now)


def test_a_tampered_body_is_refused():
    with pytest.raises(SignatureError):
        verify(v3_headers(), body=BODY + b" ")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_older_signature_versions_are_refused_unless_enabled(version):
    sig = Signature.get_signature(SECRET, BODY.decode(), version, URI, "POST")
    headers = {"X-HubSpot-Signature": sig, "X-HubSpot-Signature-Version": version}
    with pytest.raises(SignatureError, match="signature_versions"):
        verify(headers)
    assert verify(headers, versions=("v3", version)) == version
    with pytest.raises(SignatureError):
        verify(headers, body=b"[]", versions=("v3", version))


def test_public_uri_comes_from_the_public_url_and_decodes_like_hubspot():
    assert public_uri("https://leads.example.com/", "/hooks/hubspot", "a=b%3Ac") == \
        "https://leads.example.com/hooks/hubspot?a=b:c"


def test_a_v3_timestamp_more_than_a_minute_ahead_is_refused():
    ahead = v3_headers()
    with pytest.raises(SignatureError, match="future"):
        verify(ahead, now=int(ahead["X-HubSpot-Request-Timestamp"]) - 61_000)
    assert verify(ahead, now=int(ahead["X-HubSpot-Request-Timestamp"]) - 59_000) == "v3"
