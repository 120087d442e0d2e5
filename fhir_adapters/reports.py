"""Links to a patient's printable PGx reports: ``presentedForm`` URLs of their DiagnosticReports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from fhir_adapters.genes import has_code
from fhir_adapters.resources import codings, iter_resources

__all__ = ["GENOMIC_REPORT_CODE", "ReportLink", "report_links"]

# LOINC "Genetic analysis report": the Genomics Reporting IG's genomic-report, vcf2fhir's report.
GENOMIC_REPORT_CODE = "51969-4"
_GENOMIC_PROFILE = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/genomic-report"
# Forms a clinician's browser can open; a genomic report's other forms (JSON, text) count too.
_PRINTABLE = frozenset({"text/html", "application/pdf"})
_IGNORED_STATUSES = frozenset({"entered-in-error", "cancelled"})
_DEFAULT_TITLE = "Pharmacogenomic report"


@dataclass(frozen=True, slots=True)
class ReportLink:
    """A report a clinician can open: absolute URL, title, and its date (``YYYY-MM-DD``) if known."""

    url: str
    title: str
    date: str | None


def report_links(resources: Iterable[Any], fhir_server: str | None) -> list[ReportLink]:
    """Every linkable report form in ``resources`` (Bundles are walked), newest first.

    A form's URL is used as is when it is absolute http(s); a relative one (``Binary/123``) is
    resolved against ``fhir_server``, and skipped without it. A form with inline ``data`` and no
    URL cannot be linked from a card and is skipped. Malformed input is skipped, never raised on.
    """
    base = fhir_server if fhir_server and _is_http(fhir_server) else None
    found: list[tuple[str, ReportLink]] = []
    seen: set[str] = set()
    if isinstance(resources, Mapping):  # one Bundle or resource, not a list of them
        resources = [resources]
    for item in resources if isinstance(resources, Iterable) else ():
        for resource in iter_resources(item):
            if resource.get("resourceType") != "DiagnosticReport":
                continue
            status = resource.get("status")
            if isinstance(status, str) and status in _IGNORED_STATUSES:
                continue
            when = _when(resource)
            genomic = _is_genomic(resource)
            forms = resource.get("presentedForm")
            for form in forms if isinstance(forms, list) else ():
                if not isinstance(form, Mapping):
                    continue
                content_type = _content_type(form)
                if not genomic and content_type not in _PRINTABLE:
                    continue
                url = _absolute(form.get("url"), base)
                if url is None or url in seen:
                    continue
                seen.add(url)
                title = _text(form.get("title")) or _title_of(resource, genomic)
                found.append((when, ReportLink(url, title, when[:10] or None)))
    # Stable: reports of the same date keep the order they came in.
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [link for _, link in found]


def _is_genomic(resource: Mapping[str, Any]) -> bool:
    if has_code(resource, GENOMIC_REPORT_CODE):
        return True
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, Mapping) else None
    return isinstance(profiles, list) and _GENOMIC_PROFILE in profiles


def _content_type(form: Mapping[str, Any]) -> str:
    """``text/html; charset=utf-8`` → ``text/html``; anything not a string → empty."""
    value = form.get("contentType")
    return value.split(";")[0].strip().lower() if isinstance(value, str) else ""


def _absolute(value: Any, base: str | None) -> str | None:
    url = _text(value)
    if url is None:
        return None
    if _is_http(url):
        return url
    if base is None or _scheme(url) != "":
        # urn:uuid:…, cid:…, data:… cannot be opened from an EHR; nor a relative URL without base.
        return None
    try:
        resolved = urljoin(base.rstrip("/") + "/", url)
    except ValueError:
        return None
    return resolved if _is_http(resolved) else None


def _scheme(url: str) -> str | None:
    """The URL's scheme (empty when relative); ``None`` when it does not parse."""
    try:
        return urlsplit(url).scheme
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None


def _is_http(url: str) -> bool:
    if _scheme(url) not in ("http", "https") or any(c.isspace() for c in url):
        return False
    return bool(urlsplit(url).netloc)


def _when(resource: Mapping[str, Any]) -> str:
    """The report's clinically relevant time, else when it was issued; empty when neither."""
    period = resource.get("effectivePeriod")
    for value in (
        resource.get("effectiveDateTime"),
        period.get("start") if isinstance(period, Mapping) else None,
        resource.get("issued"),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _title_of(resource: Mapping[str, Any], genomic: bool) -> str:
    """A genomic report is the pharmacogenomic report; another says what it is by its code."""
    if genomic:
        return _DEFAULT_TITLE
    code = resource.get("code")
    text = _text(code.get("text")) if isinstance(code, Mapping) else None
    return (
        text
        or next((d for c in codings(code) if (d := _text(c.get("display")))), None)
        or _DEFAULT_TITLE
    )


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
