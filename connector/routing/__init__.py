"""Routing: offers and their page, the rep candidates of a lead, round-robin cursors, and the reps; the
account view (owner on accept, siblings linked, settled when one is won) and leads held outside hours.

May import core, flows, store, notify and pursuit (an accepted offer starts the feedback cadence).
"""
