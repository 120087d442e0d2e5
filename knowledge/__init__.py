"""Pharmacogenomic knowledge: CPIC gene tables and guidelines as YAML, and the code that evaluates them."""

from knowledge.base import KnowledgeBase
from knowledge.errors import KnowledgeError, KnowledgeLoadError, Location
from knowledge.evaluate import Evaluation, GeneCall, evaluate, indicator_for
from knowledge.loader import load_knowledge_base
from knowledge.results import GeneResult

__all__ = [
    "Evaluation",
    "GeneCall",
    "GeneResult",
    "KnowledgeBase",
    "KnowledgeError",
    "KnowledgeLoadError",
    "Location",
    "evaluate",
    "indicator_for",
    "load_knowledge_base",
]
