"""Per-site settings in YAML: which pre-test alerts fire, how loudly, and what they order."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr

from knowledge.errors import KnowledgeError, Location, dotted
from knowledge.oncology_schema import TargetedDrug
from knowledge.schema import Indicator, PretestRequirement, PretestTable
from knowledge.validation import validate_document
from knowledge.yaml_source import YamlDocument, parse_yaml

__all__ = [
    "CodeableConcept",
    "Coding",
    "PretestSettings",
    "SiteConfig",
    "SiteConfigError",
    "check_against",
    "check_oncology_against",
    "indicator_for",
    "load_site_config",
    "oncology_indicator_for",
    "orderable_for",
    "tumour_test_orderable",
]


def _yaml_off(value: object) -> object:
    # YAML 1.1 (PyYAML) reads a bare `off` as false; the site meant the word.
    return "off" if value is False else value


# A card indicator, or no card at all.
Setting = Annotated[Literal["info", "warning", "critical", "off"], BeforeValidator(_yaml_off)]

_DEFAULTS = "site_defaults.yaml"
# knowledge.validation points at the knowledge format; a site file is described by the defaults.
_FORMAT_DOC = "docs/knowledge-format.md"


class _Strict(BaseModel):
    # A misspelt key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Coding(_Strict):
    """FHIR Coding: one code of a code system."""

    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = None


class CodeableConcept(_Strict):
    """FHIR CodeableConcept: what the suggested ServiceRequest orders."""

    coding: list[Coding] = Field(default_factory=list)
    text: str = Field(min_length=1)

    def as_fhir(self) -> dict[str, object]:
        """JSON for a FHIR resource; an empty ``coding`` is left out (FHIR allows no empty arrays)."""
        concept: dict[str, object] = {}
        if self.coding:
            concept["coding"] = [c.model_dump(exclude_none=True) for c in self.coding]
        concept["text"] = self.text
        return concept


class Levels(_Strict):
    testing_required: Setting = Field(default="warning", alias="testing required")
    testing_recommended: Setting = Field(default="info", alias="testing recommended")


class PretestSettings(_Strict):
    levels: Levels = Field(default_factory=Levels)
    # Drug name (as knowledge/pretest.yaml spells it) -> indicator or off; wins over ``levels``.
    drugs: dict[str, Setting] = Field(default_factory=dict)
    # Test (``HLA-B*57:01``) or gene (``HLA-B``) -> what to order.
    orderables: dict[str, CodeableConcept] = Field(default_factory=dict)


class OncologyLevels(_Strict):
    """How loudly each biomarker outcome is shown (knowledge/biomarker_check.py names them)."""

    documented: Setting = "off"
    test_required: Setting = Field(default="warning", alias="test-required")
    not_indicated: Setting = Field(default="warning", alias="not-indicated")
    resistance: Setting = "warning"
    uncertain: Setting = "info"


class OncologySettings(_Strict):
    levels: OncologyLevels = Field(default_factory=OncologyLevels)
    # Targeted drug -> off, to silence one drug's biomarker cards; wins over ``levels``.
    drugs: dict[str, Annotated[Literal["off"], BeforeValidator(_yaml_off)]] = Field(
        default_factory=dict
    )
    # Test (``EGFR mutation test``) or gene (``EGFR``) -> what the suggested ServiceRequest orders.
    orderables: dict[str, CodeableConcept] = Field(default_factory=dict)
    # Biomarker kind (tmb, msi, pd-l1, her2, mmr …) -> Observation codes (``system|code``) a lab
    # reports it under, besides the Genomics Reporting IG's codes the service reads anyway.
    biomarker_codes: dict[str, list[Annotated[str, Field(pattern=r"^\S+\|\S+$")]]] = Field(
        default_factory=dict
    )


class SiteConfig(_Strict):
    """One site's settings; ``load_site_config`` reads them and remembers where each one stood."""

    pretest: PretestSettings = Field(default_factory=PretestSettings)
    oncology: OncologySettings = Field(default_factory=OncologySettings)
    _document: YamlDocument | None = PrivateAttr(default=None)


class SiteConfigError(Exception):
    """The site configuration was refused; carries every problem found, each located."""

    def __init__(self, errors: list[KnowledgeError]) -> None:
        self.errors = tuple(errors)
        count = len(self.errors)
        lines = "\n".join(str(error) for error in self.errors)
        super().__init__(
            f"{count} error{'s' if count != 1 else ''} in the site configuration:\n{lines}"
        )


def load_site_config(path: Path | None = None) -> SiteConfig:
    """Read ``path`` (``PGX_CDS_SITE_CONFIG``), or the bundled defaults when ``None``."""
    if path is None:
        name = f"cds_hooks/{_DEFAULTS}"
        text = resources.files("cds_hooks").joinpath(_DEFAULTS).read_text(encoding="utf-8")
    else:
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SiteConfigError(
                [
                    KnowledgeError(
                        Location(name),
                        "",
                        f"cannot be read ({exc.strerror or exc})",
                        "Check PGX_CDS_SITE_CONFIG names an existing, readable YAML file.",
                    )
                ]
            ) from None
    document, errors = parse_yaml(text, name)
    if document is None:
        raise SiteConfigError(errors)
    if document.data is None:
        document.data = {}  # an empty file keeps every default
    site, errors = validate_document(SiteConfig, document)
    if site is None:
        raise SiteConfigError([_site_fix(error) for error in errors])
    site._document = document
    return site


def check_against(
    site: SiteConfig, pretest: PretestTable | Mapping[str, PretestRequirement]
) -> None:
    """Refuse overrides naming a drug, test or gene that the pre-test table does not know.

    A misspelt drug would otherwise leave its alert at the default loudness without a word.
    """
    drugs = pretest.drugs if isinstance(pretest, PretestTable) else pretest
    tests = {r.test for r in drugs.values()} | {g for r in drugs.values() for g in r.genes}
    errors = [
        _unknown(site, ("pretest", "drugs", name), name, sorted(drugs), "drug", "a drug name")
        for name in site.pretest.drugs
        if name not in drugs
    ]
    errors += [
        _unknown(
            site,
            ("pretest", "orderables", key),
            key,
            sorted(tests),
            "test or gene",
            "a test or gene name",
        )
        for key in site.pretest.orderables
        if key not in tests
    ]
    if errors:
        raise SiteConfigError(errors)


def check_oncology_against(site: SiteConfig, drugs: Mapping[str, TargetedDrug]) -> None:
    """Refuse oncology settings naming a drug or test no targeted-drug rule knows.

    Orderables may also be keyed by gene (upper-case symbols), which are not checked.
    """
    tests = {
        indication.requires.test
        for rules in drugs.values()
        for indication in rules.indications
        if indication.requires is not None
    }
    errors = [
        _unknown(
            site,
            ("oncology", "drugs", name),
            name,
            sorted(drugs),
            "targeted drug",
            "a drug name",
            _ONCOLOGY,
        )
        for name in site.oncology.drugs
        if name not in drugs
    ]
    errors += [
        _unknown(
            site,
            ("oncology", "orderables", key),
            key,
            sorted(tests),
            "test",
            "a test name",
            _ONCOLOGY,
        )
        for key in site.oncology.orderables
        if key not in tests and not re.fullmatch(r"[A-Z0-9-]+", key)
    ]
    if errors:
        raise SiteConfigError(errors)


def indicator_for(site: SiteConfig, drug: str, requirement: PretestRequirement) -> Indicator | None:
    """The card indicator for a pre-test alert on ``drug``, or ``None`` when the site turned it off."""
    setting = site.pretest.drugs.get(drug)
    if setting is None:
        levels = site.pretest.levels
        setting = (
            levels.testing_required
            if requirement.level == "testing required"
            else levels.testing_recommended
        )
    return None if setting == "off" else setting


def oncology_indicator_for(site: SiteConfig, drug: str, outcome: str) -> Indicator | None:
    """The indicator of a biomarker card with ``outcome`` for ``drug``; ``None``: no card."""
    if outcome == "none" or site.oncology.drugs.get(drug) == "off":
        return None
    setting: Setting = getattr(site.oncology.levels, outcome.replace("-", "_"), "off")
    return None if setting == "off" else setting


def tumour_test_orderable(site: SiteConfig, test: str, genes: Sequence[str]) -> CodeableConcept:
    """What to order for a tumour ``test``: by test name, else by gene, else text only."""
    orderables = site.oncology.orderables
    for key in (test, *genes):
        if key in orderables:
            return orderables[key]
    return CodeableConcept(text=test)


def orderable_for(site: SiteConfig, requirement: PretestRequirement) -> CodeableConcept:
    """What to order for ``requirement``: by test, else by gene, else text only."""
    orderables = site.pretest.orderables
    for key in (requirement.test, *requirement.genes):
        if key in orderables:
            return orderables[key]
    return CodeableConcept(text=f"{requirement.test} genotyping")


def _site_fix(error: KnowledgeError) -> KnowledgeError:
    if _FORMAT_DOC not in error.fix:
        return error
    fix = error.fix.replace(_FORMAT_DOC, f"cds_hooks/{_DEFAULTS}")
    return KnowledgeError(error.location, error.field, error.message, fix)


_PRETEST = "knowledge/pretest.yaml"
_ONCOLOGY = "knowledge/oncology/drugs/"


def _unknown(
    site: SiteConfig,
    loc: tuple[str, ...],
    name: str,
    known: list[str],
    kind: str,
    example: str,
    where_known: str = _PRETEST,
) -> KnowledgeError:
    document = site._document
    where = document.location(loc, key=True) if document else Location("site configuration")
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return KnowledgeError(
        where,
        dotted(loc),
        f"{name!r} is not a {kind} of {where_known}",
        f"Use {example} from {where_known}{hint}, or remove the entry.",
    )
