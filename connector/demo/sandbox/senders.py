"""The sandbox as a sender: signed HubSpot webhook batches and Salesforce outbound messages (SOAP)."""
from __future__ import annotations

import json
import time
from xml.sax.saxutils import escape

import requests
from hubspot.utils.signature import Signature

OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"


def hubspot_webhook(url: str, events: list[dict], *, client_secret: str, signed_uri: str | None = None,
                    timestamp_ms: int | None = None, version: str = "v3") -> requests.Response:
    """POST a batch of webhook events to `url`, signed as HubSpot signs them.

    `signed_uri` is the URI HubSpot believes it calls (the public URL); it defaults to `url`.
    v3 signs method + URI + body + timestamp (HMAC-SHA256, base64); v1 and v2 are the older SHA-256 hex digests.
    """
    body = json.dumps(events, separators=(",", ":"))
    stamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    signature = Signature.get_signature(client_secret, body, version, signed_uri or url, "POST", stamp)
    headers = {"Content-Type": "application/json"}
    if version == "v3":
        headers.update({"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": stamp})
    else:
        headers.update({"X-HubSpot-Signature": signature, "X-HubSpot-Signature-Version": version})
    return requests.post(url, data=body.encode(), headers=headers, timeout=30)


def outbound_message(org_id: str, notifications: list[tuple[str, dict]], *, action_id: str = "04k000000000001",
                     base_url: str = "https://example.my.salesforce.com", sobject: str = "Lead") -> bytes:
    """A Salesforce Outbound Message envelope: one <Notification> (Id, sObject fields) per pair.

    `sobject` is the object the workflow rule watches: each sObject is typed xsi:type="sf:<sobject>" in the
    enterprise namespace, as in the WSDL Salesforce generates for the message
    (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm)."""
    parts = []
    for notification_id, fields in notifications:
        values = "".join(f"<sf:{k}>{escape(str(v))}</sf:{k}>" for k, v in fields.items() if v is not None)
        parts.append(f"<Notification><Id>{escape(notification_id)}</Id>"
                     f'<sObject xsi:type="sf:{escape(sobject)}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
                     f"{values}"
                     f"</sObject></Notification>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<soapenv:Body><notifications xmlns="{OUTBOUND_NS}">'
        f"<OrganizationId>{escape(org_id)}</OrganizationId><ActionId>{escape(action_id)}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{base_url}/services/Soap/c/59.0/{escape(org_id)}</EnterpriseUrl>"
        f"<PartnerUrl>{base_url}/services/Soap/u/59.0/{escape(org_id)}</PartnerUrl>"
        f"{''.join(parts)}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def send_outbound_message(url: str, body: bytes) -> requests.Response:
    """POST an outbound message as Salesforce does (text/xml, SOAPAction "")."""
    return requests.post(url, data=body, headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                         timeout=30)


def is_ack(response: requests.Response) -> bool:
    """True when the answer is the notificationsResponse with <Ack>true</Ack> Salesforce waits for."""
    text = response.text
    return (response.status_code == 200 and "notificationsResponse" in text
            and "<Ack>true</Ack>" in text.replace(" ", ""))
