"""Routing: offers and their page, the rep candidates of a lead, round-robin cursors, and the reps.

May import core, flows, store, notify and pursuit (an accepted offer starts the feedback cadence).
"""
