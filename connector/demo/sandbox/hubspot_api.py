"""HubSpot CRM v3 in the sandbox: contacts (get, batch read/create/update/upsert, search, merge, GDPR delete),
owners, the contact properties API, OAuth tokens, and HubSpot's rate limits. Each rule cites its page."""
from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from connector.demo.sandbox.schema import HUBSPOT_STRING_MAX
from connector.demo.sandbox.state import SandboxState, hs_time

BATCH_LIMIT = 100
SEARCH_LIMIT = 200
WINDOW_SECONDS = 10.0
DEFAULT_PROPS = ("createdate", "hs_object_id", "lastmodifieddate")
ISSUED_PREFIX = "CNsbx"  # access tokens this sandbox's OAuth endpoint issues
Check = tuple[int, str, str] | None  # a refused input: (status, category, message); None = acceptable


def hs_error(status: int, message: str, category: str, **extra: Any) -> tuple[Response, int]:
    """HubSpot's error body: {status: "error", message, correlationId, category, ...}."""
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    body.update(extra)
    return jsonify(body), status


def _record_error(category: str, message: str, context: dict) -> dict:
    return {"status": "error", "category": category, "message": message, "context": context,
            "errors": [], "links": {}}


# -- authentication ------------------------------------------------------------------------------------
def add_app(state: SandboxState, client_id: str, client_secret: str) -> str:
    """Install an OAuth app in the portal; returns a refresh token for it."""
    with state.lock:
        refresh = f"sbx-refresh-{uuid.uuid4()}"
        state.hubspot_apps.setdefault(client_id, {"secret": client_secret, "refresh_tokens": set()})
        state.hubspot_apps[client_id]["refresh_tokens"].add(refresh)
        return refresh


def token_problem(state: SandboxState, authorization: str) -> tuple[Response, int] | None:
    """The 401 HubSpot answers for an expired or unknown OAuth access token, or None. Tokens this sandbox
    did not issue are private-app tokens, which do not expire
    (https://developers.hubspot.com/docs/api/private-apps). OAuth access tokens live `expires_in` seconds
    (https://developers.hubspot.com/docs/api/oauth/tokens); an expired one is answered 401
    EXPIRED_AUTHENTICATION (https://developers.hubspot.com/docs/api/intro-to-auth)."""
    token = authorization.split(" ", 1)[-1]
    if not token.startswith(ISSUED_PREFIX):
        return None
    with state.lock:
        expires = state.hubspot_tokens.get(token)
        now = state.instant()
    if expires is None:
        return hs_error(401, "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
                        "INVALID_AUTHENTICATION")
    if now >= expires:
        minutes = int((now - expires) // 60)
        return hs_error(401, f"The OAuth token used to make this call expired {minutes} minute(s) ago.",
                        "EXPIRED_AUTHENTICATION")
    return None


def _oauth_token(state: SandboxState) -> ResponseReturnValue:
    """POST /oauth/v1/token, grant_type=refresh_token (https://developers.hubspot.com/docs/api/oauth/tokens):
    form fields client_id, client_secret, refresh_token; answers access_token, refresh_token, expires_in."""
    form = request.form
    app = state.hubspot_apps.get(form.get("client_id", ""))
    if form.get("grant_type") != "refresh_token":
        return jsonify({"status": "BAD_GRANT_TYPE", "message": "grant_type must be refresh_token here"}), 400
    if app is None or app["secret"] != form.get("client_secret"):
        return jsonify({"status": "BAD_CLIENT_ID", "message": "missing or unknown client id / secret"}), 400
    if form.get("refresh_token") not in app["refresh_tokens"]:
        return jsonify({"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"}), 400
    with state.lock:
        token = f"{ISSUED_PREFIX}{uuid.uuid4().hex}"
        ttl = state.faults.hubspot_token_ttl
        state.hubspot_tokens[token] = state.instant() + ttl
        state.calls["hubspot POST /oauth/v1/token"] += 1
    return jsonify({"token_type": "bearer", "refresh_token": form["refresh_token"], "access_token": token,
                    "expires_in": ttl}), 200


# -- rate limits ----------------------------------------------------------------------------------------
# https://developers.hubspot.com/docs/api/usage-details: a private app may make X-HubSpot-RateLimit-Max calls
# per rolling X-HubSpot-RateLimit-Interval-Milliseconds (10 s) and X-HubSpot-RateLimit-Daily per day, reset at
# midnight in the account's time zone (this portal: UTC); past either, 429 with policyName TEN_SECONDLY_ROLLING
# or DAILY in the body, and no Retry-After (none is documented).
def _day(state: SandboxState) -> str:
    return datetime.fromtimestamp(state.instant(), UTC).date().isoformat()


def take_call(state: SandboxState) -> str | None:
    """Count one API call against the limits (under state.lock); the policy it breaks, or None."""
    now, f = state.instant(), state.faults
    times = state.hubspot_call_times
    recent = sum(1 for t in times if t > now - WINDOW_SECONDS)
    if state.hubspot_daily_used.get(_day(state), 0) >= f.hubspot_daily_limit:
        return "DAILY"
    if recent >= f.hubspot_window_max:
        return "TEN_SECONDLY_ROLLING"
    times.append(now)
    state.hubspot_daily_used[_day(state)] = state.hubspot_daily_used.get(_day(state), 0) + 1
    return None


def rate_limited(policy: str) -> tuple[Response, int]:
    """HubSpot's 429 body for `policy` (usage-details page)."""
    limit = "daily" if policy == "DAILY" else "ten_secondly_rolling"
    body = {"status": "error", "message": f"You have reached your {limit} limit.", "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()), "policyName": policy, "requestId": str(uuid.uuid4())}
    return jsonify(body), 429


def limit_headers(state: SandboxState) -> dict[str, str]:
    """The X-HubSpot-RateLimit-* headers of every answer (usage-details page)."""
    with state.lock:
        now, f = state.instant(), state.faults
        recent = sum(1 for t in state.hubspot_call_times if t > now - WINDOW_SECONDS)
        remaining = f.hubspot_window_max - recent
        if f.hubspot_budget is not None:
            remaining = min(remaining, f.hubspot_budget)
        used = state.hubspot_daily_used.get(_day(state), 0)
        return {"X-HubSpot-RateLimit-Daily": str(f.hubspot_daily_limit),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, f.hubspot_daily_limit - used)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW_SECONDS * 1000)),
                "X-HubSpot-RateLimit-Max": str(f.hubspot_window_max),
                "X-HubSpot-RateLimit-Remaining": str(max(0, remaining))}


# -- the schema -------------------------------------------------------------------------------------------
def _options(state: SandboxState, name: str, definition: dict) -> set[str]:
    if name == "hs_lead_status":
        return set(state.picklists["hs_lead_status"])
    if name == "hubspot_owner_id":
        return {o["id"] for o in state.owners}
    return {str(o["value"]) for o in definition.get("options") or []}


def problems(state: SandboxState, props: dict) -> list[dict]:
    """HubSpot's per-property validation items for these values (https://developers.hubspot.com/docs/api/crm/
    properties): unknown property PROPERTY_DOESNT_EXIST, an enumeration value outside its options
    INVALID_OPTION, a number that is not one, a string above 65,536 characters; "" clears any property."""
    items: list[dict] = []
    for name in sorted(props):
        definition = state.hubspot_properties.get(name)
        value = props[name]
        if definition is None:
            items.append({"isValid": False, "message": f'Property "{name}" does not exist',
                          "error": "PROPERTY_DOESNT_EXIST", "name": name})
            continue
        if value is None or str(value) == "":
            continue
        text, kind = str(value), definition["type"]
        if name == "hubspot_owner_id" and text not in _options(state, name, definition):
            items.append({"isValid": False, "message": f"{text} is not a valid owner id", "error": "INVALID_OWNER_ID",
                          "name": name})
        elif kind == "enumeration" and name != "hs_merged_object_ids":
            allowed = _options(state, name, definition)
            values = text.split(";") if definition["fieldType"] == "checkbox" else [text]
            for v in (v for v in values if v not in allowed):
                items.append({"isValid": False, "message": f"{v} was not one of the allowed options: "
                              f"[{', '.join(sorted(allowed))}]", "error": "INVALID_OPTION", "name": name})
        elif kind == "number" and not _is_number(text):
            items.append({"isValid": False, "message": f"{text} was not a valid number", "error": "INVALID_DOUBLE",
                          "name": name})
        elif kind == "string" and len(text) > HUBSPOT_STRING_MAX:
            items.append({"isValid": False, "message": f"value is {len(text)} characters long, above the limit of "
                          f"{HUBSPOT_STRING_MAX}", "error": "INVALID_STRING_LENGTH", "name": name})
        if name == "email" and "@" not in text:
            items.append({"isValid": False, "message": f"Email address {text} is invalid", "error": "INVALID_EMAIL",
                          "name": name})
    return items


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def validate(state: SandboxState, props: dict) -> str | None:
    """The reason HubSpot would refuse these property values, or None."""
    items = problems(state, props)
    return f"Property values were not valid: {json.dumps(items, separators=(',', ':'))}" if items else None


# -- contacts ---------------------------------------------------------------------------------------------
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


def merge_contacts(state: SandboxState, primary_id: str, other_id: str) -> dict:
    """Merge two contacts into a new record with a new id; both old ids then read as it
    (https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies); the
    primary's values win, hs_merged_object_ids lists the merged ids."""
    with state.lock:
        primary, other = state.contacts.pop(primary_id), state.contacts.pop(other_id)
        props = {k: v for k, v in other["properties"].items() if v not in (None, "")}
        props.update({k: v for k, v in primary["properties"].items() if v not in (None, "")})
        for key in ("hs_object_id", "createdate", "lastmodifieddate"):
            props.pop(key, None)
        merged_ids = [i for c in (primary, other) for i in
                      [c["id"], *(c["properties"].get("hs_merged_object_ids") or "").split(";")] if i]
        props["hs_merged_object_ids"] = ";".join(merged_ids)
        merged = write_contact(state, None, props, by_api=False)
        for old in merged_ids:
            state.hubspot_merged[old] = merged["id"]
        for old, new in list(state.hubspot_merged.items()):
            if new in (primary_id, other_id):
                state.hubspot_merged[old] = merged["id"]
        return merged


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
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        return data, [], hs_error(400, "Invalid input JSON on line 1: 'inputs' is required", "VALIDATION_ERROR")
    if len(inputs) > BATCH_LIMIT:
        return data, [], hs_error(400, f"Batch input limit exceeded: {len(inputs)} inputs given, "
                                       f"the maximum is {BATCH_LIMIT}", "VALIDATION_ERROR")
    return data, inputs, None


def _find(state: SandboxState, value: object, id_property: str | None) -> dict | None:
    if not id_property or id_property == "hs_object_id":
        key = str(value)
        return state.contacts.get(state.hubspot_merged.get(key, key))
    for contact in state.contacts.values():
        if str(contact["properties"].get(id_property, "")).lower() == str(value).lower():
            return contact
    return None


def _view(contact: dict, wanted: list[str] | None, trace: str | None = None) -> dict:
    props = contact["properties"]
    if wanted:
        props = {k: props.get(k) for k in (*wanted, *DEFAULT_PROPS)}
    view = {"id": contact["id"], "properties": dict(props), "createdAt": contact["createdAt"],
            "updatedAt": contact["updatedAt"], "archived": False}
    if trace:
        view["objectWriteTraceId"] = trace
    return view


def register(app: Flask, state: SandboxState) -> None:
    """Add the HubSpot routes to the sandbox app."""
    base = "/crm/v3/objects/contacts"
    app.add_url_rule("/oauth/v1/token", "hs_oauth_token", lambda: _oauth_token(state), methods=["POST"])

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
            found, missing, seen = [], [], set()
            for item in inputs:
                contact = _find(state, item.get("id"), data.get("idProperty"))
                if contact and contact["id"] not in seen:  # a merged-away id reads as the merged record
                    seen.add(contact["id"])
                    found.append(_view(contact, data.get("properties")))
                elif contact is None:
                    missing.append(str(item.get("id")))
            errors = [_record_error("OBJECT_NOT_FOUND", "Could not get some CONTACT objects, they may be deleted or "
                                    "not exist. Check that ids are valid.", {"ids": missing})] if missing else []
            return _batch(found, errors, 200)

    def batch_write(ok_status: int, check: Callable[[dict, dict], Check],
                    apply: Callable[[dict, dict], dict]) -> ResponseReturnValue:
        """A batch write as HubSpot answers it (https://developers.hubspot.com/docs/api-reference/error-handling,
        "Multi-status errors"): when every input carries an objectWriteTraceId, the valid inputs are written and
        each refused one gets its own error naming that trace id (207); otherwise one refused input fails the
        whole batch (400 VALIDATION_ERROR, 409 CONFLICT for an existing e-mail on create) and nothing is written.
        The error context fields are optional (same page): with faults.hubspot_unnamed_errors they are left out."""
        data, inputs, err = _inputs()
        if err:
            return err
        with state.lock:
            f = state.faults
            traced = f.hubspot_multi_status and all(i.get("objectWriteTraceId") for i in inputs)
            checks = [check(item, data) for item in inputs]
            refused = [c for c in checks if c]
            if refused and not traced:
                status, category, message = refused[0]
                return hs_error(status, message, category)
            results, errors = [], []
            for item, problem in zip(inputs, checks, strict=True):
                trace = item.get("objectWriteTraceId")
                if problem is None:
                    results.append(_view(apply(item, data), None, trace))
                else:
                    context = {} if f.hubspot_unnamed_errors else {"objectWriteTraceId": [str(trace)]}
                    errors.append(_record_error(problem[1], problem[2], context))
            return _batch(results, errors, ok_status)

    def check_create(item: dict, data: dict) -> Check:
        props = item.get("properties") or {}
        if problem := validate(state, props):
            return 400, "VALIDATION_ERROR", problem
        if props.get("email") and (existing := _find(state, props["email"], "email")):
            return 409, "CONFLICT", f"Contact already exists. Existing ID: {existing['id']}"
        return None

    def check_update(item: dict, data: dict) -> Check:
        if _find(state, item.get("id"), item.get("idProperty") or data.get("idProperty")) is None:
            return 404, "OBJECT_NOT_FOUND", (f"Could not get some CONTACT objects, they may be deleted or not exist. "
                                             f"Check that ids are valid: [{item.get('id')}]")
        problem = validate(state, item.get("properties") or {})
        return (400, "VALIDATION_ERROR", problem) if problem else None

    def check_upsert(item: dict, data: dict) -> Check:
        problem = validate(state, item.get("properties") or {})
        return (400, "VALIDATION_ERROR", problem) if problem else None

    def apply_create(item: dict, data: dict) -> dict:
        return write_contact(state, None, item.get("properties") or {})

    def apply_update(item: dict, data: dict) -> dict:
        contact = _find(state, item.get("id"), item.get("idProperty") or data.get("idProperty"))
        return write_contact(state, contact, item.get("properties") or {})

    def apply_upsert(item: dict, data: dict) -> dict:
        id_property = item.get("idProperty") or "hs_object_id"
        props = dict(item.get("properties") or {})
        contact = _find(state, item.get("id"), id_property)
        if contact is None and id_property != "hs_object_id":
            props.setdefault(id_property, item.get("id"))
        return write_contact(state, contact, props)

    app.add_url_rule(f"{base}/batch/create", "hs_batch_create",
                     lambda: batch_write(201, check_create, apply_create), methods=["POST"])
    app.add_url_rule(f"{base}/batch/update", "hs_batch_update",
                     lambda: batch_write(200, check_update, apply_update), methods=["POST"])
    app.add_url_rule(f"{base}/batch/upsert", "hs_batch_upsert",
                     lambda: batch_write(200, check_upsert, apply_upsert), methods=["POST"])

    @app.post(f"{base}/search")
    def hs_search() -> ResponseReturnValue:
        """Search (https://developers.hubspot.com/docs/api/crm/search, "Limitations"): at most 200 per page, and
        no paging beyond the first 10,000 results of a query (400); faults.hubspot_search_cap lowers it."""
        data = request.get_json(silent=True) or {}
        limit = int(data.get("limit") or 10)
        if limit > SEARCH_LIMIT:
            return hs_error(400, f"limit must be at most {SEARCH_LIMIT}", "VALIDATION_ERROR")
        after = int(data.get("after") or 0)
        with state.lock:
            cap = state.faults.hubspot_search_cap
            if after + limit > cap:
                return hs_error(400, f"Paging beyond {cap} results is not supported: narrow the search",
                                "VALIDATION_ERROR")
            rows = [c for c in state.contacts.values() if _matches(c, data.get("filterGroups") or [])]
            for sort in reversed(data.get("sorts") or []):
                name = sort.get("propertyName") if isinstance(sort, dict) else str(sort)
                rows.sort(key=lambda c: str(c["properties"].get(name) or ""),
                          reverse=isinstance(sort, dict) and sort.get("direction") == "DESCENDING")
            page = rows[after:after + limit]
            body: dict[str, Any] = {"total": len(rows), "results": [_view(c, data.get("properties")) for c in page]}
            if after + limit < len(rows):
                body["paging"] = {"next": {"after": str(after + limit), "link": None}}
            return jsonify(body), 200

    @app.post(f"{base}/merge")
    def hs_merge() -> ResponseReturnValue:
        data = request.get_json(silent=True) or {}
        primary, other = str(data.get("primaryObjectId")), str(data.get("objectIdToMerge"))
        if primary not in state.contacts or other not in state.contacts or primary == other:
            return hs_error(400, "Both objects must exist and differ to be merged", "VALIDATION_ERROR")
        return jsonify(_view(merge_contacts(state, primary, other), None)), 200

    @app.post(f"{base}/gdpr-delete")
    def hs_gdpr_delete() -> ResponseReturnValue:
        """Permanently delete a contact (https://developers.hubspot.com/docs/api/crm/contacts, "GDPR delete"):
        by id, or by e-mail with idProperty=email; an unknown e-mail is blocklisted (204), an unknown id is 404."""
        data = request.get_json(silent=True) or {}
        with state.lock:
            contact = _find(state, data.get("objectId"), data.get("idProperty"))
            if contact is None and data.get("idProperty") != "email":
                return hs_error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
            if contact is not None:
                state.contacts.pop(contact["id"], None)
                for old in [o for o, new in state.hubspot_merged.items() if new == contact["id"]]:
                    state.hubspot_merged.pop(old)
            return Response(status=204)

    @app.get("/crm/v3/owners/")
    def hs_owners() -> ResponseReturnValue:
        with state.lock:
            owners = [o for o in state.owners if not request.args.get("email") or o["email"] == request.args["email"]]
            limit, after = int(request.args.get("limit", 100)), int(request.args.get("after") or 0)
            body: dict[str, Any] = {"results": owners[after:after + limit]}
            if after + limit < len(owners):
                body["paging"] = {"next": {"after": str(after + limit)}}
            return jsonify(body), 200

    _register_properties(app, state)


def _register_properties(app: Flask, state: SandboxState) -> None:
    """The properties API for contacts (https://developers.hubspot.com/docs/api/crm/properties): list, read,
    create (one or a batch) and property groups; a property's group must exist, a name is taken once (409)."""
    base = "/crm/v3/properties/contacts"
    kinds = {"string": {"text", "textarea", "phonenumber", "file", "html"}, "number": {"number"},
             "enumeration": {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"},
             "date": {"date"}, "datetime": {"date"}, "bool": {"booleancheckbox"}}

    def refused(body: dict) -> str | None:
        name = str(body.get("name") or "")
        if not name or not name.replace("_", "").isalnum() or name != name.lower():
            return f"Property name {name!r} must be lower case letters, digits and underscores"
        if body.get("type") not in kinds or body.get("fieldType") not in kinds[body["type"]]:
            return f"type {body.get('type')!r} with fieldType {body.get('fieldType')!r} is not a valid combination"
        if body["type"] == "enumeration" and not body.get("options"):
            return "enumeration properties need options"
        if body.get("groupName") not in state.hubspot_groups:
            return f"Property group {body.get('groupName')!r} does not exist"
        return None

    def create_one(body: dict) -> tuple[dict | None, tuple[Response, int] | None]:
        if problem := refused(body):
            return None, hs_error(400, problem, "VALIDATION_ERROR")
        if body["name"] in state.hubspot_properties:
            return None, hs_error(409, f"Property named '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS")
        definition = {**body, "options": list(body.get("options") or []), "hidden": False, "calculated": False,
                      "externalOptions": False,
                      "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False}}
        state.hubspot_properties[body["name"]] = definition
        return definition, None

    def served(name: str, definition: dict) -> dict:
        """The definition as read, with the live options of hs_lead_status and hubspot_owner_id."""
        if name not in ("hs_lead_status", "hubspot_owner_id"):
            return definition
        return {**definition, "options": [{"label": o, "value": o, "displayOrder": i, "hidden": False}
                                          for i, o in enumerate(sorted(_options(state, name, definition)))]}

    @app.get(base)
    def hs_properties() -> ResponseReturnValue:
        with state.lock:
            return jsonify({"results": [served(n, d) for n, d in state.hubspot_properties.items()]}), 200

    @app.get(f"{base}/<name>")
    def hs_property(name: str) -> ResponseReturnValue:
        with state.lock:
            if name not in state.hubspot_properties:
                return hs_error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
            return jsonify(served(name, state.hubspot_properties[name])), 200

    @app.post(base)
    def hs_property_create() -> ResponseReturnValue:
        with state.lock:
            definition, error = create_one(request.get_json(silent=True) or {})
            return error or (jsonify(definition), 201)

    @app.post(f"{base}/batch/create")
    def hs_property_batch_create() -> ResponseReturnValue:
        data, inputs, err = _inputs()
        if err:
            return err
        with state.lock:
            problems_ = [refused(i) for i in inputs]
            if any(problems_):
                return hs_error(400, next(p for p in problems_ if p), "VALIDATION_ERROR")
            results, errors = [], []
            for item in inputs:
                definition, error = create_one(item)
                if definition is not None:
                    results.append(definition)
                else:
                    errors.append(_record_error("OBJECT_ALREADY_EXISTS", f"Property named '{item['name']}' already "
                                                "exists.", {"name": [item["name"]]}))
            return _batch(results, errors, 201)

    @app.get(f"{base}/groups")
    def hs_groups() -> ResponseReturnValue:
        with state.lock:
            return jsonify({"results": [{"name": g, "label": g.title(), "displayOrder": -1, "archived": False}
                                        for g in sorted(state.hubspot_groups)]}), 200

    @app.post(f"{base}/groups")
    def hs_group_create() -> ResponseReturnValue:
        body = request.get_json(silent=True) or {}
        with state.lock:
            name = str(body.get("name") or "")
            if not name or not body.get("label"):
                return hs_error(400, "A property group needs a name and a label", "VALIDATION_ERROR")
            if name in state.hubspot_groups:
                return hs_error(409, f"Property group named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
            state.hubspot_groups.add(name)
            return jsonify({"name": name, "label": body["label"], "displayOrder": body.get("displayOrder", -1),
                            "archived": False}), 201


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
