"""Salesforce REST in the sandbox: Lead get/create/update/upsert, SOQL query paging, sObject Collections."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from connector.demo.sandbox import soql
from connector.demo.sandbox.schema import TEXT_TYPES, describe_field, salesforce_unknown
from connector.demo.sandbox.sf_oauth import integration_user_row
from connector.demo.sandbox.state import API_USER_ID, SandboxState, sf_time

COLLECTION_LIMIT = 200
NO_EXTERNAL_ID = "Provided external ID field does not exist or is not accessible: "
EXTERNAL_ID_FIELDS = {"Leadwire_Id__c", "Email"}
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "fields": [],
               "message": "Record rolled back because not all records were valid and the request was using "
                          "AllOrNone header"}


def sf_error(status: int, code: str, message: str, fields: list | None = None) -> tuple[Response, int]:
    """Salesforce's error body: a list of {message, errorCode[, fields]}."""
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return jsonify([body]), status


def validate(state: SandboxState, fields: dict, *, creating: bool) -> list[dict]:
    """The errors Salesforce would give these Lead field values (empty when valid); an unknown field first."""
    errors = []
    unknown = salesforce_unknown(state.schema, fields)
    if unknown:
        errors.append(no_such_column(unknown))
    if creating:
        missing = [f for f in ("LastName", "Company") if not fields.get(f)]
        if missing:
            errors.append({"statusCode": "REQUIRED_FIELD_MISSING", "fields": missing,
                           "message": f"Required fields are missing: [{', '.join(missing)}]"})
    for name, value in fields.items():  # STRING_TOO_LONG: a text value over the field's length (describe)
        meta = state.salesforce_meta.get(name, {})
        limit = meta.get("length", 255) if meta.get("type", "string") in TEXT_TYPES else 0
        if limit and isinstance(value, str) and len(value) > limit:
            errors.append({"statusCode": "STRING_TOO_LONG", "fields": [name],
                           "message": f"{name}: data value too large: {value[:20]}... (max length={limit})"})
        elif name in state.salesforce_meta and not meta.get("updateable", True):
            errors.append({"statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": [name],
                           "message": f"Unable to create/update fields: {name}. Please check the security settings "
                                      "of this field and verify that it is read/write for your profile or "
                                      "permission set."})
    status = fields.get("Status")
    if status is not None and status not in state.picklists["Lead.Status"]:
        errors.append({"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["Status"],
                       "message": f"Status: bad value for restricted picklist field: {status}"})
    owner = fields.get("OwnerId")
    if owner is not None and owner not in {u["Id"] for u in state.users} | {API_USER_ID}:
        errors.append({"statusCode": "INVALID_CROSS_REFERENCE_KEY", "fields": ["OwnerId"],
                       "message": "Owner ID: id value of incorrect type: " + str(owner)})
    email = fields.get("Email")
    if email and "@" not in str(email):
        errors.append({"statusCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"],
                       "message": f"Email: invalid email address: {email}"})
    return errors


def no_such_column(name: str) -> dict:
    """Salesforce's answer to a field the Lead object does not have (the whole request is refused)."""
    return {"statusCode": "INVALID_FIELD", "fields": [], "message": f"No such column '{name}' on sobject of type Lead"}


def write_lead(state: SandboxState, lead: dict | None, fields: dict, *, by: str = API_USER_ID) -> dict:
    """Create or change a Lead, maintaining SystemModstamp / LastModifiedDate / LastModifiedById."""
    stamp = sf_time(state.now())
    clean = {k: v for k, v in fields.items() if k not in ("attributes", "Id", "id")}
    if lead is None:
        rid = f"00Q{state.next_id():015d}"
        lead = {"Id": rid, "CreatedDate": stamp, "CreatedById": by, "OwnerId": by, "Status": "Open - Not Contacted"}
        state.leads[rid] = lead
    lead.update(clean)
    lead.update(SystemModstamp=stamp, LastModifiedDate=stamp, LastModifiedById=by)
    if by == API_USER_ID:
        state.writes[("salesforce", lead["Id"])] += 1
    return lead


def _find_by(state: SandboxState, field: str, value: str) -> dict | None:
    return next((lead for lead in state.leads.values() if str(lead.get(field)) == str(value)), None)


def _view(version: str, lead: dict) -> dict:
    return {"attributes": {"type": "Lead", "url": f"/services/data/{version}/sobjects/Lead/{lead['Id']}"}, **lead}


def _not_found() -> tuple[Response, int]:
    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")


def register(app: Flask, state: SandboxState) -> None:
    """Add the Salesforce routes to the sandbox app."""
    base = "/services/data/<version>"

    @app.get(f"{base}/sobjects/<sobject>/<rid>")
    def sf_get(version: str, sobject: str, rid: str) -> ResponseReturnValue:
        with state.lock:
            lead = state.leads.get(rid) if sobject == "Lead" else None
            return (jsonify(_view(version, lead)), 200) if lead else _not_found()

    @app.get(f"{base}/sobjects/<sobject>/<field>/<path:value>")
    def sf_get_by_external(version: str, sobject: str, field: str, value: str) -> ResponseReturnValue:
        with state.lock:
            lead = _find_by(state, field, value) if sobject == "Lead" else None
            return (jsonify(_view(version, lead)), 200) if lead else _not_found()

    @app.post(f"{base}/sobjects/<sobject>/")
    def sf_create(version: str, sobject: str) -> ResponseReturnValue:
        if sobject != "Lead":
            return _not_found()
        fields = request.get_json(silent=True) or {}
        with state.lock:
            errors = validate(state, fields, creating=True)
            if errors:
                return sf_error(400, errors[0]["statusCode"], errors[0]["message"], errors[0]["fields"])
            lead = write_lead(state, None, fields)
            return jsonify({"id": lead["Id"], "success": True, "errors": []}), 201

    @app.patch(f"{base}/sobjects/<sobject>/<rid>")
    def sf_update(version: str, sobject: str, rid: str) -> ResponseReturnValue:
        fields = request.get_json(silent=True) or {}
        with state.lock:
            lead = state.leads.get(rid) if sobject == "Lead" else None
            if lead is None:
                return _not_found()
            errors = validate(state, fields, creating=False)
            if errors:
                return sf_error(400, errors[0]["statusCode"], errors[0]["message"], errors[0]["fields"])
            write_lead(state, lead, fields)
            return "", 204

    @app.patch(f"{base}/sobjects/<sobject>/<field>/<path:value>")
    def sf_upsert(version: str, sobject: str, field: str, value: str) -> ResponseReturnValue:
        if sobject != "Lead":
            return _not_found()
        if field not in EXTERNAL_ID_FIELDS:
            return sf_error(404, "NOT_FOUND", NO_EXTERNAL_ID + field)
        fields = request.get_json(silent=True) or {}
        with state.lock:
            existing = _find_by(state, field, value)
            errors = validate(state, {field: value, **fields}, creating=existing is None)
            if errors:
                return sf_error(400, errors[0]["statusCode"], errors[0]["message"], errors[0]["fields"])
            lead = write_lead(state, existing, {field: value, **fields})
            created = existing is None
            body = {"id": lead["Id"], "success": True, "errors": [], "created": created}
            return jsonify(body), 201 if created else 200

    @app.get("/services/oauth2/userinfo")
    def sf_userinfo() -> ResponseReturnValue:
        return jsonify({"user_id": API_USER_ID, "organization_id": "00D000000000001AAA",
                        "preferred_username": "integration@leadwire.sandbox"}), 200

    @app.get(f"{base}/query/")
    def sf_query(version: str) -> ResponseReturnValue:
        try:
            query = soql.parse(request.args.get("q", ""))
        except soql.SoqlError as exc:
            return sf_error(400, "MALFORMED_QUERY", str(exc))
        with state.lock:
            users = [integration_user_row(), *state.users]
            rows = {"Lead": list(state.leads.values()), "User": users}.get(query.object)
            if rows is None:
                return sf_error(400, "INVALID_TYPE", f"sObject type '{query.object}' is not supported.")
            records = [{"attributes": {"type": query.object}, **r} for r in query.run(rows)]
            return _page(version, records, _batch_size())

    @app.get(f"{base}/query/<locator>")
    def sf_query_more(version: str, locator: str) -> ResponseReturnValue:
        with state.lock:
            records = state.queries.pop(locator, None)
            if records is None:
                return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return _page(version, records, _batch_size(), total=int(locator.rsplit("-", 2)[-1]))

    def _batch_size() -> int:
        size = state.faults.query_page_size
        option = request.headers.get("Sforce-Query-Options", "")
        if option.startswith("batchSize="):
            size = max(200, min(2000, int(option.split("=", 1)[1])))
        return size

    def _page(version: str, records: list, size: int, total: int | None = None) -> tuple[Response, int]:
        total = len(records) if total is None else total
        body = {"totalSize": total, "done": len(records) <= size, "records": records[:size]}
        if len(records) > size:
            locator = f"01gSB{state.next_id():010d}-{size}-{total}"
            state.queries[locator] = records[size:]
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}"
        return jsonify(body), 200

    # GET .../sobjects/Lead/describe: the fields, their types, lengths and flags, picklist values
    # (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm)
    @app.get(f"{base}/sobjects/<sobject>/describe")
    def sf_describe(version: str, sobject: str) -> ResponseReturnValue:
        if sobject != "Lead":
            return sf_error(404, "NOT_FOUND", f"The requested resource does not exist: {sobject}")
        with state.lock:
            fields = [describe_field(name, state.salesforce_meta.get(name, {}), state.picklists)
                      for name in sorted(state.schema["salesforce"])]
        return jsonify({"name": "Lead", "custom": False, "updateable": True, "fields": fields}), 200

    # DELETE .../composite/sobjects?ids=a,b: up to 200 records, one result per id, in order
    # (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_delete.htm)
    @app.delete(f"{base}/composite/sobjects")
    def sf_collection_delete(version: str) -> ResponseReturnValue:
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if len(ids) > COLLECTION_LIMIT:
            return sf_error(400, "EXCEEDED_ID_LIMIT", f"cannot submit more than {COLLECTION_LIMIT} ids into this call")
        results = []
        with state.lock:
            for rid in ids:
                if state.leads.pop(rid, None) is None:
                    results.append({"id": rid, "success": False, "errors": [
                        {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]})
                else:
                    results.append({"id": rid, "success": True, "errors": []})
        return jsonify(results), 200

    @app.route(f"{base}/composite/sobjects", methods=["POST", "PATCH"])
    @app.route(f"{base}/composite/sobjects/<sobject>/<field>", methods=["PATCH"])
    def sf_collection(version: str, sobject: str | None = None, field: str | None = None) -> ResponseReturnValue:
        data = request.get_json(silent=True) or {}
        records = data.get("records")
        if not isinstance(records, list):
            return sf_error(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of records")
        if len(records) > COLLECTION_LIMIT:
            return sf_error(400, "EXCEEDED_ID_LIMIT",
                            f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call")
        if field is not None and field not in EXTERNAL_ID_FIELDS:
            return sf_error(404, "NOT_FOUND", NO_EXTERNAL_ID + field)
        unknown = next((n for n in (salesforce_unknown(state.schema, r) for r in records if isinstance(r, dict)) if n),
                       None)
        if unknown:  # refused while the records are read, before any is processed
            return sf_error(400, "INVALID_FIELD", no_such_column(unknown)["message"])
        with state.lock:
            plans = [_plan(state, r, request.method, field) for r in records]
            failed = any(errors for _, _, errors in plans)
            results = []
            for lead, fields, errors in plans:
                if not errors and state.faults.salesforce_row_locks > 0:
                    # another transaction holds the record (https://help.salesforce.com/s/articleView?id=000387658)
                    state.faults.salesforce_row_locks -= 1
                    errors = [{"statusCode": "UNABLE_TO_LOCK_ROW", "fields": [],
                               "message": "unable to obtain exclusive access to this record"}]
                if errors:
                    results.append({"success": False, "errors": errors, **({"id": lead["Id"]} if lead else {})})
                elif failed and data.get("allOrNone"):
                    results.append({"id": lead["Id"] if lead else None, "success": False, "errors": [ROLLED_BACK]})
                else:
                    written = write_lead(state, lead, fields)
                    result = {"id": written["Id"], "success": True, "errors": []}
                    if field is not None:
                        result["created"] = lead is None
                    results.append(result)
            return jsonify(results), 200


def _plan(state: SandboxState, record: dict, method: str, field: str | None) -> tuple[dict | None, dict, list[dict]]:
    """(existing lead or None, fields to write, errors) for one collection record."""
    if (record.get("attributes") or {}).get("type") != "Lead":
        return None, record, [{"statusCode": "INVALID_TYPE", "fields": [],
                               "message": "Must send a concrete entity type."}]
    fields = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}
    if method == "POST":
        return None, fields, validate(state, fields, creating=True)
    if field is None:
        rid = record.get("id") or record.get("Id")
        lead = state.leads.get(rid or "")
        if lead is None:
            return None, fields, [{"statusCode": "ENTITY_IS_DELETED" if rid else "MISSING_ARGUMENT", "fields": [],
                                   "message": "entity is deleted" if rid else "Id not specified in an update call"}]
        return lead, fields, _converted(lead) or validate(state, fields, creating=False)
    if not record.get(field):
        return None, fields, [{"statusCode": "MISSING_ARGUMENT", "fields": [field],
                               "message": f"{field} not specified"}]
    lead = _find_by(state, field, record[field])
    if lead is None and fields.get("Email") and _find_by(state, "Email", fields["Email"]):
        # the org's duplicate rule on Email blocks creating a second Lead for an address
        # (https://help.salesforce.com/s/articleView?id=sf.duplicate_rules_map_of_reference.htm)
        return None, fields, [{"statusCode": "DUPLICATES_DETECTED", "fields": [],
                               "message": "Use one of these records? (duplicate rule: Standard Lead Duplicate Rule)"}]
    return lead, fields, (_converted(lead) if lead else []) or validate(state, fields, creating=lead is None)


def _converted(lead: dict) -> list[dict]:
    """A converted Lead is read-only (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/
    object_reference/sforce_api_objects_lead.htm: "you can't update a converted lead")."""
    if str(lead.get("IsConverted")).lower() != "true":
        return []
    return [{"statusCode": "CANNOT_UPDATE_CONVERTED_LEAD", "fields": [],
             "message": "cannot reference converted lead"}]
