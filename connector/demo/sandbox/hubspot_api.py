"""HubSpot CRM v3 in the sandbox: contacts (get, batch read/create/update/upsert, search) and owners."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from connector.demo.sandbox.schema import hubspot_unknown
from connector.demo.sandbox.state import SandboxState, hs_time

BATCH_LIMIT = 100
SEARCH_LIMIT = 200
DEFAULT_PROPS = ("createdate", "hs_object_id", "lastmodifieddate")
Outcome = tuple[dict | None, dict | None]  # one batch input: (result, None) or (None, error)


def hs_error(status: int, message: str, category: str, **extra: Any) -> tuple[Response, int]:
    """HubSpot's error body: {status: "error", message, correlationId, category, ...}."""
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    body.update(extra)
    return jsonify(body), status


def _record_error(category: str, message: str, context: dict) -> dict:
    return {"status": "error", "category": category, "message": message, "context": context,
            "errors": [], "links": {}}


def _view(contact: dict, wanted: list[str] | None) -> dict:
    props = contact["properties"]
    if wanted:
        props = {k: props.get(k) for k in (*wanted, *DEFAULT_PROPS)}
    return {"id": contact["id"], "properties": dict(props), "createdAt": contact["createdAt"],
            "updatedAt": contact["updatedAt"], "archived": False}


def validate(state: SandboxState, props: dict) -> str | None:
    """The reason HubSpot would refuse these property values, or None (unknown properties first)."""
    problems = hubspot_unknown(state.schema, props)
    status = props.get("hs_lead_status")
    allowed = state.picklists["hs_lead_status"]
    if status not in (None, "") and status not in allowed:
        problems.append(f'{{"isValid":false,"message":"{status} was not one of the allowed options: '
                        f'[{", ".join(sorted(allowed))}]","error":"INVALID_OPTION","name":"hs_lead_status"}}')
    owner = props.get("hubspot_owner_id")
    if owner not in (None, "") and owner not in {o["id"] for o in state.owners}:
        problems.append(f'{{"isValid":false,"message":"{owner} is not a valid owner id","error":"INVALID_OWNER_ID",'
                        f'"name":"hubspot_owner_id"}}')
    email = props.get("email")
    if email not in (None, "") and "@" not in str(email):
        problems.append(f'{{"isValid":false,"message":"Email address {email} is invalid","error":"INVALID_EMAIL",'
                        f'"name":"email"}}')
    return f"Property values were not valid: [{','.join(problems)}]" if problems else None


def write_contact(state: SandboxState, contact: dict | None, props: dict, *, by_api: bool = True) -> dict:
    """Create or change a contact, keeping lastmodifieddate; counts API writes per record."""
    now = state.now()
    if contact is None:
        cid = str(1000 + state.next_id())
        contact = {"id": cid, "createdAt": hs_time(now),
                   "properties": {"hs_object_id": cid, "createdate": hs_time(now)}}
        state.contacts[cid] = contact
    contact["properties"].update({k: (None if v is None else str(v)) for k, v in props.items()})
    contact["properties"]["lastmodifieddate"] = hs_time(now)
    contact["updatedAt"] = hs_time(now)
    if by_api:
        state.writes[("hubspot", contact["id"])] += 1
    return contact


def _batch(results: list, errors: list, ok_status: int) -> tuple[Response, int]:
    now = hs_time(datetime.now(UTC))
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
    if errors:
        body.update(errors=errors, numErrors=len(errors))
        return jsonify(body), 207
    return jsonify(body), ok_status


def _inputs() -> tuple[dict, list, tuple[Response, int] | None]:
    """(request body, its batch inputs, None), or (body, [], the error to answer) when the inputs are refused."""
    data = request.get_json(silent=True) or {}
    inputs = data.get("inputs")
    if not isinstance(inputs, list):
        return data, [], hs_error(400, "Invalid input JSON on line 1: 'inputs' is required", "VALIDATION_ERROR")
    if len(inputs) > BATCH_LIMIT:
        return data, [], hs_error(400, f"Batch input limit exceeded: {len(inputs)} inputs given, "
                                       f"the maximum is {BATCH_LIMIT}", "VALIDATION_ERROR")
    return data, inputs, None


def _find(state: SandboxState, value: object, id_property: str | None) -> dict | None:
    if not id_property or id_property == "hs_object_id":
        return state.contacts.get(str(value))
    for contact in state.contacts.values():
        if str(contact["properties"].get(id_property, "")).lower() == str(value).lower():
            return contact
    return None


def register(app: Flask, state: SandboxState) -> None:
    """Add the HubSpot routes to the sandbox app."""
    base = "/crm/v3/objects/contacts"

    @app.get(f"{base}/<contact_id>")
    def hs_get(contact_id: str) -> ResponseReturnValue:
        with state.lock:
            contact = _find(state, contact_id, request.args.get("idProperty"))
            if contact is None:
                return hs_error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                                context={"id": [contact_id]})
            wanted = [p for p in request.args.get("properties", "").split(",") if p]
            return jsonify(_view(contact, wanted)), 200

    @app.post(f"{base}/batch/read")
    def hs_batch_read() -> ResponseReturnValue:
        data, inputs, err = _inputs()
        if err:
            return err
        with state.lock:
            found, missing = [], []
            for item in inputs:
                contact = _find(state, item.get("id"), data.get("idProperty"))
                if contact:
                    found.append(_view(contact, data.get("properties")))
                else:
                    missing.append(str(item.get("id")))
            errors = [_record_error("OBJECT_NOT_FOUND", "Could not get some CONTACT objects, they may be deleted or "
                                    "not exist. Check that ids are valid.", {"ids": missing})] if missing else []
            return _batch(found, errors, 200)

    def batch_write(ok_status: int, one: Callable[[dict, dict], Outcome]) -> ResponseReturnValue:
        """Run `one(item, data)` per input under the lock; it returns (result, None) or (None, error)."""
        data, inputs, err = _inputs()
        if err:
            return err
        with state.lock:
            results, errors = [], []
            for item in inputs:
                result, error = one(item, data)
                (results.append(result) if error is None else errors.append(error))
            return _batch(results, errors, ok_status)

    def create_one(item: dict, data: dict) -> Outcome:
        props = item.get("properties") or {}
        problem = validate(state, props)
        existing = _find(state, props.get("email"), "email") if props.get("email") else None
        if problem:
            return None, _record_error("VALIDATION_ERROR", problem, {"email": [str(props.get("email"))]})
        if existing:
            return None, _record_error("CONFLICT", f"Contact already exists. Existing ID: {existing['id']}",
                                       {"email": [str(props.get("email"))]})
        return _view(write_contact(state, None, props), None), None

    def update_one(item: dict, data: dict) -> Outcome:
        contact = _find(state, item.get("id"), item.get("idProperty") or data.get("idProperty"))
        props = item.get("properties") or {}
        problem = validate(state, props)
        if contact is None or problem:
            return None, _record_error(
                "OBJECT_NOT_FOUND" if contact is None else "VALIDATION_ERROR",
                problem or "Could not get some CONTACT objects, they may be deleted or not exist.",
                {"ids": [str(item.get("id"))]})
        return _view(write_contact(state, contact, props), None), None

    def upsert_one(item: dict, data: dict) -> Outcome:
        id_property = item.get("idProperty") or "hs_object_id"
        props = dict(item.get("properties") or {})
        problem = validate(state, props)
        if problem:
            return None, _record_error("VALIDATION_ERROR", problem, {"ids": [str(item.get("id"))]})
        contact = _find(state, item.get("id"), id_property)
        if contact is None and id_property != "hs_object_id":
            props.setdefault(id_property, item.get("id"))
        return {**_view(write_contact(state, contact, props), None), "new": contact is None}, None

    app.add_url_rule(f"{base}/batch/create", "hs_batch_create", lambda: batch_write(201, create_one), methods=["POST"])
    app.add_url_rule(f"{base}/batch/update", "hs_batch_update", lambda: batch_write(200, update_one), methods=["POST"])
    app.add_url_rule(f"{base}/batch/upsert", "hs_batch_upsert", lambda: batch_write(200, upsert_one), methods=["POST"])

    @app.post(f"{base}/search")
    def hs_search() -> ResponseReturnValue:
        data = request.get_json(silent=True) or {}
        limit = int(data.get("limit") or 10)
        if limit > SEARCH_LIMIT:
            return hs_error(400, f"limit must be at most {SEARCH_LIMIT}", "VALIDATION_ERROR")
        with state.lock:
            rows = [c for c in state.contacts.values() if _matches(c, data.get("filterGroups") or [])]
            for sort in reversed(data.get("sorts") or []):
                name = sort.get("propertyName") if isinstance(sort, dict) else str(sort)
                rows.sort(key=lambda c: str(c["properties"].get(name) or ""),
                          reverse=isinstance(sort, dict) and sort.get("direction") == "DESCENDING")
            after = int(data.get("after") or 0)
            page = rows[after:after + limit]
            body: dict[str, Any] = {"total": len(rows), "results": [_view(c, data.get("properties")) for c in page]}
            if after + limit < len(rows):
                body["paging"] = {"next": {"after": str(after + limit), "link": None}}
            return jsonify(body), 200

    @app.get("/crm/v3/owners/")
    def hs_owners() -> ResponseReturnValue:
        with state.lock:
            owners = [o for o in state.owners if not request.args.get("email") or o["email"] == request.args["email"]]
            limit, after = int(request.args.get("limit", 100)), int(request.args.get("after") or 0)
            body: dict[str, Any] = {"results": owners[after:after + limit]}
            if after + limit < len(owners):
                body["paging"] = {"next": {"after": str(after + limit)}}
            return jsonify(body), 200


def _comparable(value: object) -> str:
    """Dates compare as ISO text; HubSpot also takes epoch milliseconds in filters."""
    text = str(value)
    if text.isdigit() and len(text) >= 12:
        return hs_time(datetime.fromtimestamp(int(text) / 1000, tz=UTC))
    return text


def _matches(contact: dict, groups: list[dict]) -> bool:
    if not groups:
        return True
    props = contact["properties"]
    ops = {"EQ": lambda a, b: a == b, "NEQ": lambda a, b: a != b, "GT": lambda a, b: a > b,
           "GTE": lambda a, b: a >= b, "LT": lambda a, b: a < b, "LTE": lambda a, b: a <= b}
    for group in groups:
        ok = True
        for f in group.get("filters") or []:
            value, op = props.get(f.get("propertyName")), f.get("operator", "EQ")
            if op == "HAS_PROPERTY":
                ok = value not in (None, "")
            elif op == "IN":
                ok = value in (f.get("values") or [])
            else:
                ok = value is not None and ops[op](_comparable(value), _comparable(f.get("value")))
            if not ok:
                break
        if ok:
            return True
    return False
