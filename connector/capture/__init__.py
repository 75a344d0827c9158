"""Capture: the inbox (commit the raw payload, lease, retake), deciding and storing a lead, lead files.

May import core, flows, store, notify and routing (the first offer of a decided lead).
"""
