"""CRM webhooks: POST /hooks/hubspot (signed batches) and POST /hooks/salesforce (outbound messages, SOAP Ack).

Both only verify, commit the raw delivery to the inbox (sync/deliveries.receive) and answer: no CRM call
is made before the answer; the deliveries are taken by job "sync.deliveries"."""
from __future__ import annotations

import hmac
from xml.sax.saxutils import escape

from flask import Blueprint, Response, jsonify, request

from connector.core import bounds
from connector.crm.signatures import SignatureError, public_uri, verify_hubspot
from connector.sync import deliveries, events
from connector.web.context import current_runtime
from connector.web.error_handlers import ApiError
from connector.web.hooks import read_body

bp = Blueprint("crm_hooks", __name__)

ACK = ('<?xml version="1.0" encoding="UTF-8"?>'
       '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
       '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
       '</soapenv:Body></soapenv:Envelope>')


def soap_fault(status: int, message: str) -> Response:
    """A SOAP fault: Salesforce keeps the message queued and retries it."""
    body = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
            f'envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>{escape(message)}'
            '</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>')
    return Response(body, status=status, mimetype="text/xml")


@bp.post("/hooks/hubspot")
def hubspot_hook():
    """Verify, commit the batch to the inbox, answer 200: the contacts are read later by a job."""
    rt = current_runtime()
    raw = read_body(rt)
    uri = public_uri(rt.settings.public_url or rt.settings.base_url, request.path, request.query_string.decode())
    try:
        verify_hubspot(rt.settings.env.get("HUBSPOT_CLIENT_SECRET", ""), request.headers, method=request.method,
                       uri=uri, body=raw, now_ms=int(rt.clock.now().timestamp() * 1000))
    except SignatureError as exc:
        raise ApiError(401, str(exc)) from exc
    try:
        items = deliveries.hubspot_items(bounds.load_json(raw))
        delivery = deliveries.receive(rt, "hubspot", raw, items)
    except (ValueError, deliveries.BadDelivery) as exc:
        raise ApiError(400, str(exc)) from exc
    return jsonify(delivery.as_dict()), 200


@bp.post("/hooks/salesforce")
def salesforce_hook():
    """Check key and org, commit the notifications to the inbox, answer the SOAP Ack; a non-Lead sObject is
    refused with a fault saying so."""
    rt = current_runtime()
    env = rt.settings.env
    key, org = env.get("SALESFORCE_OUTBOUND_KEY", ""), env.get("SALESFORCE_ORG_ID", "")
    if not key or not org:
        return soap_fault(503, "outbound messages are disabled: set SALESFORCE_OUTBOUND_KEY and SALESFORCE_ORG_ID")
    if not hmac.compare_digest(request.args.get("key", "").encode(), key.encode()):
        return soap_fault(401, "missing or wrong ?key= in the endpoint URL")
    raw = read_body(rt)
    try:
        sender, notifications = events.parse_outbound(raw)
    except events.BadMessage as exc:
        return soap_fault(400, str(exc))
    if not hmac.compare_digest(sender[:15].encode(), org[:15].encode()):
        return soap_fault(403, "OrganizationId does not match SALESFORCE_ORG_ID")
    try:
        deliveries.receive(rt, "salesforce", raw, [(nid, [nid, fields]) for nid, fields in notifications],
                           content_type="text/xml")
    except deliveries.BadDelivery as exc:
        return soap_fault(503, str(exc))
    return Response(ACK, status=200, mimetype="text/xml")
