"""The demo: the whole journey (`leadwire demo`), the players that act as reps, and the CRM sandbox.

Sits on top: may import anything. Nothing in the runtime imports it.
"""
