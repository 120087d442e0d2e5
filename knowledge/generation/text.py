"""Guideline HTML → plain text blocks, keeping CPIC's 'Other Considerations' apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["split_recommendation_html"]


@dataclass
class _Blocks(HTMLParser):
    """HTML recommendation text → paragraphs of plain text, headings kept as their own blocks."""

    blocks: list[str] = field(default_factory=list)
    _current: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"p", "h1", "h2", "h3", "h4", "h5", "li", "br"}:
            self._flush()
        if tag == "li":
            self._current.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"p", "h1", "h2", "h3", "h4", "h5", "li"}:
            self._flush()

    def handle_data(self, data: str) -> None:
        self._current.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.blocks.append(text)
        self._current = []

    def close(self) -> None:
        super().close()
        self._flush()


def split_recommendation_html(markup: str) -> tuple[str, str | None]:
    """The recommendation itself, and CPIC's 'Other Considerations' section if there is one."""
    parser = _Blocks()
    parser.feed(markup)  # entities such as &lt;200 ng/mL are decoded by the parser itself
    parser.close()
    blocks = parser.blocks
    if "Other Considerations" in blocks:
        at = blocks.index("Other Considerations")
        return " ".join(blocks[:at]), " ".join(blocks[at + 1 :]) or None
    return " ".join(blocks), None
