"""Pursuit feedback: the cadence of requests (schedule), sending and escalating them (requests), their
no-login links (links), and the answers (answers).

May import core, flows, store and notify.
"""
