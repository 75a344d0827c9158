"""Capture: the inbox (commit the raw payload, lease, retake), deciding and storing a lead, lead files.

May import core, flows, store, notify, routing (the first offer of a decided lead) and pursuit (a manual
action stopping a lead's feedback requests).
"""
