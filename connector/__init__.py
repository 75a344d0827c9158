"""Leadwire: lead-management middleware."""
