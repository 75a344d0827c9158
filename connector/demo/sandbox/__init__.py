"""The local CRM sandbox: HubSpot CRM v3 and Salesforce REST subsets with the vendors' wire formats, strict
like the vendors: a write naming a property or field the org does not have is refused (schema.py).

    sandbox = Sandbox().start()          # http://127.0.0.1:<port> (HubSpot), sandbox.tls_url (Salesforce)
    sandbox.set_faults(outage=True)      # or POST /_sandbox/faults {"outage": true}
    sandbox.stats()["calls"]             # per-endpoint counters
    sandbox.stop()
"""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

import requests
from flask import jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.serving import WSGIRequestHandler, make_server

from connector.core.clock import Clock
from connector.demo.sandbox import hubspot_api, senders, sf_oauth
from connector.demo.sandbox.app import create_app
from connector.demo.sandbox.hubspot_api import write_contact
from connector.demo.sandbox.salesforce_api import write_lead
from connector.demo.sandbox.state import API_USER_ID, Faults, SandboxState, sf_time
from connector.demo.sandbox.tls import make_certificate, server_context

__all__ = ["Sandbox", "Faults", "API_USER_ID"]


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log lines (bodies never reach logs either)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class Sandbox:
    """A running sandbox: one HTTP listener (HubSpot + admin) and one HTTPS listener (Salesforce) over one state."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, tls_port: int = 0,
                 clock: Clock | None = None) -> None:
        self.state = SandboxState(clock=clock)
        self.app = create_app(self.state)
        self._add_sender_routes()
        self.host, self.port, self.tls_port = host, port, tls_port
        self._servers: list = []
        self._threads: list[threading.Thread] = []
        self._certdir: tempfile.TemporaryDirectory | None = None
        self.base_url = self.tls_url = ""
        self.ca_file = ""
        self._event_id = 0

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> str:
        """Start both listeners in threads; return the plain-HTTP base URL (port 0 = a free port)."""
        self._certdir = tempfile.TemporaryDirectory(prefix="leadwire-sandbox-")
        cert, key = make_certificate(Path(self._certdir.name))
        self.ca_file = str(cert)
        plain = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler)
        secure = make_server(self.host, self.tls_port, self.app, threaded=True,
                             request_handler=_QuietHandler, ssl_context=server_context(cert, key))
        for server in (plain, secure):
            thread = threading.Thread(target=server.serve_forever, name="crm-sandbox", daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        self.base_url = f"http://{self.host}:{plain.server_port}"
        self.tls_url = f"https://{self.host}:{secure.server_port}"
        return self.base_url

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        if self._certdir:
            self._certdir.cleanup()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults and counters ---------------------------------------------------------
    @property
    def faults(self) -> Faults:
        return self.state.faults

    def set_faults(self, **values: Any) -> None:
        """Switch faults on or off, e.g. set_faults(rate_limit_storm=3, latency_ms=50)."""
        with self.state.lock:
            self.state.faults.update(values)

    def reset(self) -> None:
        self.state.reset()

    def stats(self) -> dict:
        return self.state.stats()

    def calls(self, fragment: str = "") -> int:
        """Number of API calls whose counter key contains `fragment`."""
        return sum(n for key, n in self.state.stats()["calls"].items() if fragment in key)

    # -- a rep working in the CRM UI (not through the API) -------------------------------
    def hubspot_edit(self, contact_id: str | None, properties: dict) -> dict:
        """Change (or create, with None) a contact as a person in HubSpot would."""
        with self.state.lock:
            return write_contact(self.state, self.state.contacts.get(contact_id) if contact_id else None,
                                 properties, by_api=False)

    def hubspot_merge(self, primary_id: str, other_id: str) -> dict:
        """Merge two contacts as a person in HubSpot would: a new record that both old ids now read as."""
        return hubspot_api.merge_contacts(self.state, primary_id, other_id)

    def hubspot_oauth_app(self, client_id: str, client_secret: str) -> str:
        """Install an OAuth app in the HubSpot portal; returns its refresh token."""
        return hubspot_api.add_app(self.state, client_id, client_secret)

    def salesforce_connected_app(self, client_id: str, *, certificate: str | None = None,
                                 client_secret: str | None = None) -> str:
        """A Salesforce connected app (JWT certificate and/or secret); returns a refresh token for it."""
        return sf_oauth.add_app(self.state, client_id, certificate=certificate, client_secret=client_secret)

    def salesforce_edit(self, lead_id: str | None, fields: dict, *, by: str | None = None) -> dict:
        """Change (or create, with None) a Lead as a Salesforce user (default: the first user) would."""
        with self.state.lock:
            user = by or (self.state.users[0]["Id"] if self.state.users else "005000000000USR")
            return write_lead(self.state, self.state.leads.get(lead_id) if lead_id else None, fields, by=user)

    # -- the sandbox as a sender -------------------------------------------------------
    def contact_event(self, contact_id: str, subscription_type: str = "contact.propertyChange",
                      property_name: str | None = None, property_value: str | None = None,
                      occurred_at_ms: int | None = None, change_source: str = "CRM_UI") -> dict:
        """One HubSpot webhook event about a contact, with a fresh eventId."""
        self._event_id += 1
        event = {"eventId": 100000 + self._event_id, "subscriptionId": 4242, "portalId": 62515, "appId": 1160452,
                 "occurredAt": occurred_at_ms or int(self.state.now().timestamp() * 1000),
                 "subscriptionType": subscription_type, "attemptNumber": 0, "objectId": int(contact_id),
                 "changeSource": change_source, "changeFlag": "NEW" if subscription_type.endswith("creation") else None}
        if property_name:
            event.update(propertyName=property_name, propertyValue=property_value, sourceId="userId:7")
        return {k: v for k, v in event.items() if v is not None}

    def send_hubspot_webhook(self, url: str, events: list[dict], *, client_secret: str,
                             **kwargs: Any) -> requests.Response:
        """POST signed webhook events (see senders.hubspot_webhook for the keyword arguments)."""
        return senders.hubspot_webhook(url, events, client_secret=client_secret, **kwargs)

    def outbound_message(self, org_id: str, lead_ids: list[str], *, notification_ids: list[str] | None = None) -> bytes:
        """The SOAP body Salesforce would send for these Leads (their current fields)."""
        with self.state.lock:
            ids = notification_ids or [f"04l{self.state.next_id():015d}" for _ in lead_ids]
            pairs = [(nid, dict(self.state.leads[lid])) for nid, lid in zip(ids, lead_ids, strict=False)]
        return senders.outbound_message(org_id, pairs, base_url=self.tls_url or "https://example.my.salesforce.com")

    def outbound_message_of(self, org_id: str, sobject: str, records: list[dict], *,
                            notification_ids: list[str] | None = None) -> bytes:
        """The SOAP body of an outbound message on another object (e.g. "Opportunity" with its fields)."""
        with self.state.lock:
            ids = notification_ids or [f"04l{self.state.next_id():015d}" for _ in records]
        return senders.outbound_message(org_id, list(zip(ids, records, strict=False)), sobject=sobject,
                                        base_url=self.tls_url or "https://example.my.salesforce.com")

    def send_outbound_message(self, url: str, body: bytes) -> requests.Response:
        return senders.send_outbound_message(url, body)

    def _add_sender_routes(self) -> None:
        @self.app.post("/_sandbox/send/hubspot")
        def send_hubspot() -> ResponseReturnValue:
            data = request.get_json(force=True)
            events = [self.contact_event(str(cid), data.get("subscriptionType", "contact.propertyChange"),
                                         data.get("propertyName"), data.get("propertyValue"))
                      for cid in data["contact_ids"]]
            resp = self.send_hubspot_webhook(data["url"], events, client_secret=data["client_secret"],
                                             signed_uri=data.get("signed_uri"))
            return jsonify({"status": resp.status_code, "events": len(events)})

        @self.app.post("/_sandbox/send/salesforce")
        def send_salesforce() -> ResponseReturnValue:
            data = request.get_json(force=True)
            resp = self.send_outbound_message(data["url"], self.outbound_message(data["org_id"], data["lead_ids"]))
            return jsonify({"status": resp.status_code, "ack": senders.is_ack(resp)})


def sf_now(sandbox: Sandbox) -> str:
    """The sandbox's current time in Salesforce's format (handy as a poller watermark)."""
    return sf_time(sandbox.state.now())
