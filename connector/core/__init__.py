"""Core: settings, the runtime, the clock, typed errors, signed tokens and webhook signatures.

What every package may use. Core imports nothing else of Leadwire (the runtime names the store, the
flow spec and the mailer for the type checker only).
"""
