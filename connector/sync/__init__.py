"""Sync with the CRMs: the outbox drain, inbound CRM changes and events, and owner ids.

The top use case: may import core, flows, store, notify, crm, and capture and pursuit (a CRM record
with no lead is captured; a CRM status change is feedback).
"""
