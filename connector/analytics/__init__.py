"""Analytics: SQL aggregate measures over leads, offers and feedback, all taking one Filters value."""
from connector.analytics.filters import Filters, InvalidFilter
from connector.analytics.registry import MEASURES, run, run_all
from connector.analytics.table import Column, Table

__all__ = ["Filters", "InvalidFilter", "MEASURES", "run", "run_all", "Column", "Table"]
