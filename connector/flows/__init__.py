"""The pure flow engine: load flows.yaml, map payloads, and decide (match, score, qualify, plan, explain)."""
from connector.flows.engine import Context, Decision, decide, facts_for, map_payload
from connector.flows.loader import load_spec
from connector.flows.matching import AccountMatch, AccountRef, DuplicateMatch, InMemoryIndex, LeadRef, MatchIndex
from connector.flows.model import Flow, SourceSpec, Spec
from connector.flows.routing import Candidate, RepView, RoutingPlan

__all__ = [
    "AccountMatch", "AccountRef", "Candidate", "Context", "Decision", "DuplicateMatch", "Flow", "InMemoryIndex",
    "LeadRef", "MatchIndex", "RepView", "RoutingPlan", "SourceSpec", "Spec", "decide", "facts_for", "load_spec",
    "map_payload",
]
