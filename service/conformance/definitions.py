"""The Harmonise profiles and extensions as FHIR R4 StructureDefinitions (differentials).

They are generated here, not written in FHIR Shorthand: SUSHI needs the FHIR core package
(hl7.fhir.r4.core), which comes only from the FHIR package registry, and this project builds from
PyPI, npm and Debian alone. Generating them from Python has a second use: the code lists, ODS
codes, units and topic facts in them come from the very objects the loader's rules read
(``service.rules``), so the two cannot disagree about a code.

Every element and invariant names the loader rule it states: an element through a mapping
(identity ``harmonise-rules``, ``map`` = the rule id), an invariant through its key
(``hrm-<rule id>``, or ``hrm-<rule id>.<n>`` when a rule takes several). ``tests/test_conformance.py``
checks that every rule of ``service.rules.RULES`` is stated, and that the loader and
``conformance.check`` (which reads only these StructureDefinitions) find the same rules broken.

The register's shape (``warranted-variation``, a Basic profile) is the one ``service.register``
writes (its URLs are in ``service.conventions``); docs/profile.md ("Warranted variation as FHIR")
describes it for people.
"""

from collections.abc import Iterable, Sequence
from typing import Any, Final

from .. import __version__, terminology, units
from .. import conventions as c

JsonDict = dict[str, Any]

#: When these definitions were last changed (their ``date``).
DATE: Final = "2026-12-02"
PUBLISHER: Final = "Harmonise project"
SD_BASE: Final = f"{c.BASE}/StructureDefinition"
CORE: Final = "http://hl7.org/fhir/StructureDefinition"
RULES_IDENTITY: Final = "harmonise-rules"
REGISTER_IDENTITY: Final = "variation-register"

WARRANTED_VARIATION_PROFILE: Final = c.WARRANTED_VARIATION_PROFILE
VARIATION_DIMENSION_SYSTEM: Final = f"{c.BASE}/CodeSystem/variation-dimension"

#: The register entry's fields (``variation-register.yaml``) that are extensions on the Basic (service.register),
#: by extension URL. ``trust`` is Basic.subject, ``agreed_on`` Basic.created, ``agreed_by`` Basic.author.display.
REGISTER_EXTENSIONS: Final[dict[str, tuple[str, str, str, int]]] = {
    # url: (register field, value type, what it holds, min)
    c.VARIATION_TOPIC_EXTENSION: ("topic", "Coding", "The pathway topic (a pathway-topic code).", 1),
    c.VARIATION_STEP_EXTENSION: ("step", "string", "The guideline action's id; absent for the whole pathway.", 0),
    c.VARIATION_DIMENSION_EXTENSION: ("dimension", "code", "What differs (a variation-dimension code).", 1),
    c.VARIATION_RATIONALE_EXTENSION: ("rationale", "string", "Why the network agreed the difference is warranted.",
                                      1),
    c.VARIATION_REVIEW_BY_EXTENSION: ("review_by", "date", "When the justification lapses unless renewed.", 1),
}


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _one_of(values: Iterable[str]) -> str:
    """A FHIRPath collection literal: ``('a' | 'b')``."""
    return "(" + " | ".join(_quote(v) for v in values) + ")"


def _element(path: str, *, rule: str | Iterable[str] | None = None, register: str | None = None,
             **content: Any) -> JsonDict:
    """One differential ElementDefinition; ``path`` may carry slice names (``a.b:slice.c``)."""
    element: JsonDict = {"id": path, "path": ".".join(part.split(":")[0] for part in path.split("."))}
    element.update(content)
    mapping = []
    for name in [rule] if isinstance(rule, str) else list(rule or []):
        mapping.append({"identity": RULES_IDENTITY, "map": name})
    if register:
        mapping.append({"identity": REGISTER_IDENTITY, "map": register})
    if mapping:
        element["mapping"] = mapping
    return element


def _constraint(rule: str, human: str, expression: str, number: int | None = None) -> JsonDict:
    key = f"hrm-{rule}" if number is None else f"hrm-{rule}.{number}"
    return {"key": key, "severity": "error", "human": human, "expression": expression,
            "source": f"{SD_BASE}/{rule}"}


def _definition(id_: str, title: str, description: str, type_: str, elements: list[JsonDict], *,
                kind: str = "resource", context: list[str] | None = None, register: bool = False) -> JsonDict:
    mapping = [{"identity": RULES_IDENTITY, "uri": f"{c.BASE}/rules",
                "name": "Harmonise loader rules (harmonise validate --help, docs/profile.md)"}]
    if register:
        mapping.append({"identity": REGISTER_IDENTITY, "uri": f"{c.BASE}/variation-register",
                        "name": "guidelines/variation-register.yaml fields"})
    definition: JsonDict = {
        "resourceType": "StructureDefinition",
        "id": id_,
        "url": f"{SD_BASE}/{id_}",
        "version": __version__,
        "name": "".join(part.capitalize() for part in id_.split("-")),
        "title": title,
        "status": "active",
        "experimental": False,
        "date": DATE,
        "publisher": PUBLISHER,
        "description": description,
        "fhirVersion": "4.0.1",
        "mapping": mapping,
        "kind": kind,
        "abstract": False,
    }
    if context:
        definition["context"] = [{"type": "element", "expression": where} for where in context]
    definition.update({"type": type_, "baseDefinition": f"{CORE}/{type_}", "derivation": "constraint",
                       "differential": {"element": elements}})
    return definition


def _ucum() -> str:
    return _one_of(units.DAYS_PER_UNIT)


def _codes(system: str) -> str:
    return _one_of(terminology.code_system(system).concepts)


def _member(value: str, system: str) -> str:
    """``value`` exists and is a code of ``system``: true or false, never empty (an empty invariant is no answer)."""
    return f"{value}.exists() and ({value} in {_codes(system)})"


def _is(value: str, literal: str) -> str:
    """``value`` exists and equals ``literal``: true or false, never empty."""
    return f"({value}.exists() and {value} = {_quote(literal)})"


def _first_code(system: str) -> str:
    return f"code.coding.where(system = {_quote(system)}).code.first()"


_TOPIC = (f"useContext.where(code.system = {_quote(c.USAGE_CONTEXT_TYPE_SYSTEM)} and code.code = 'focus')"
          f".value.ofType(CodeableConcept).coding.where(system = {_quote(c.PATHWAY_TOPIC_SYSTEM)}).code.first()")
_NETWORK = (f"useContext.where(code.system = {_quote(c.USAGE_CONTEXT_TYPE_SYSTEM)} and code.code = 'program')"
            f".value.ofType(CodeableConcept).coding.where(system = {_quote(c.HOSTED_NETWORK_SYSTEM)}).code.first()")
_TRUST = (f"extension.where(url = {_quote(c.OWNING_ORGANIZATION_EXTENSION)}).value.ofType(Identifier)"
          f".where(system = {_quote(c.ODS_SYSTEM)}).value.first()")
_EVENT = "action.first().trigger.where(type = 'named-event' and name.exists()).name.first()"
_LEAVES = "repeat(action).where(action.empty())"
#: Every Duration in the action tree whose unit the comparison reads.
_DURATIONS = ("repeat(action).select(timing.ofType(Duration) | timing.ofType(Range).low | timing.ofType(Range).high"
              " | timing.ofType(Timing).repeat.bounds.ofType(Duration)"
              " | timing.ofType(Timing).repeat.bounds.ofType(Range).low"
              " | timing.ofType(Timing).repeat.bounds.ofType(Range).high"
              " | relatedAction.offset.ofType(Duration) | relatedAction.offset.ofType(Range).low"
              " | relatedAction.offset.ofType(Range).high)")


def _invariants(guideline: bool) -> list[JsonDict]:
    """The rules that constrain more than one element, as FHIRPath on the PlanDefinition."""
    topics = terminology.topics().concepts
    network_facts = " and ".join(
        f"({_is(_TOPIC, code)} implies {_is(_NETWORK, concept.properties['hosted-network'])})"
        for code, concept in topics.items())
    event_facts = " and ".join(
        f"({_is(_TOPIC, code)} implies {_is(_EVENT, concept.properties['index-event'])})"
        for code, concept in topics.items())
    found = [
        _constraint("profile", "Claims one of the trust-pathway and network-guideline profiles, not both",
                    f"(meta.profile contains {_quote(c.TRUST_PATHWAY_PROFILE)} and meta.profile contains "
                    f"{_quote(c.NETWORK_GUIDELINE_PROFILE)}).not()"),
        _constraint("owning-organization", "The owning organisation is one of the network's trusts",
                    f"{_TRUST}.exists() and ({_TRUST} in {_one_of(c.TRUSTS)})"),
        _constraint("topic", "The pathway topic is a pathway-topic code", _member(_TOPIC, c.PATHWAY_TOPIC_SYSTEM)),
        _constraint("hosted-network", "The hosted network is a hosted-network code",
                    _member(_NETWORK, c.HOSTED_NETWORK_SYSTEM)),
        _constraint("hosted-network", "The hosted network is the topic's (pathway-topic property hosted-network)",
                    network_facts, 2),
        _constraint("derived-from", "An adopted guideline is named as url|version",
                    "relatedArtifact.where(type = 'derived-from' and resource.exists()).all(resource.contains('|'))"),
        _constraint("action-id", "Every step (leaf action) has an id", f"{_LEAVES}.all(id.exists())"),
        _constraint("action-id", "Step ids are unique in the pathway", f"{_LEAVES}.id.isDistinct()", 2),
        _constraint("step-kind", "Every step has a pathway-step code, and a known one",
                    f"{_LEAVES}.all({_member(_first_code(c.PATHWAY_STEP_SYSTEM), c.PATHWAY_STEP_SYSTEM)})"),
        _constraint("contact-mode", "Every step has a contact-mode code, and a known one",
                    f"{_LEAVES}.all({_member(_first_code(c.CONTACT_MODE_SYSTEM), c.CONTACT_MODE_SYSTEM)})"),
        _constraint("participant", "Participant roles are coded in care-role (a role in text alone is not)",
                    f"{_LEAVES}.participant.role.all(coding.where(system = {_quote(c.CARE_ROLE_SYSTEM)}).code"
                    f".all($this in {_codes(c.CARE_ROLE_SYSTEM)}) and (coding.where(system = "
                    f"{_quote(c.CARE_ROLE_SYSTEM)}).empty() and text.exists()).not())"),
        _constraint("index-event", "The first step's trigger is a named event naming the index event",
                    "action.empty() or action.first().trigger.where(type = 'named-event' and name.exists()).exists()"),
        _constraint("index-event", "The index event is the topic's (pathway-topic property index-event)",
                    event_facts, 2),
        _constraint("timing", "Every step has a timing that needs no patient: timingDuration, timingRange, "
                    "timingTiming or a relatedAction (its own or its enclosing action's); not an age, a date, a "
                    "period or a dynamicValue. The loader also follows relatedAction chains and expands repeats "
                    "(open-ended repeats and cycles are not comparable)",
                    "repeat(action).all(timing.ofType(Age).empty() and timing.ofType(Period).empty() and "
                    "timing.ofType(dateTime).empty() and dynamicValue.where(path.startsWith('timing')).empty())"
                    " and action.all(timing.exists() or relatedAction.exists() or (action.exists() and "
                    "action.repeat(action).where(action.empty()).all(timing.exists() or relatedAction.exists())))"),
        _constraint("related-action", "relatedActions point at steps of the same pathway",
                    "repeat(action).relatedAction.actionId.all($this in %resource.repeat(action).id)"),
        _constraint("units", "Durations have a UCUM code of a unit of time",
                    f"{_DURATIONS}.all(code.exists() and code in {_ucum()} and (system.empty() or "
                    f"system = {_quote(c.UCUM_SYSTEM)}))"),
    ]
    if guideline:
        found.append(_constraint("guideline-step", "A guideline step gives its allowed window as timingRange and "
                                 "says whether it is required (requiredBehavior)",
                                 f"{_LEAVES}.all(timing.ofType(Range).exists() and requiredBehavior.exists())"))
    else:
        found.append(_constraint("publisher", "The publisher is the owning trust's name", " and ".join(
            f"(({_is(_TRUST, ods)} and publisher.exists()) implies {_is('publisher', name)})"
            for ods, name in c.TRUSTS.items())))
    return found


def _use_context(slice_name: str, code: str, system: str, rule: str, what: str) -> list[JsonDict]:
    path = f"PlanDefinition.useContext:{slice_name}"
    return [
        _element(path, rule=rule, sliceName=slice_name, short=what, min=1, max="1"),
        _element(f"{path}.code", patternCoding={"system": c.USAGE_CONTEXT_TYPE_SYSTEM, "code": code}),
        _element(f"{path}.value[x]", rule=rule, type=[{"code": "CodeableConcept"}],
                 binding={"strength": "required", "valueSet": terminology.value_set_url(system)}),
    ]


def _plan_definition(guideline: bool) -> JsonDict:
    profile = c.NETWORK_GUIDELINE_PROFILE if guideline else c.TRUST_PATHWAY_PROFILE
    root = _element("PlanDefinition", short="A network guideline" if guideline else "A trust's pathway",
                    definition="The Harmonise conventions (docs/profile.md): what comparison needs.",
                    constraint=_invariants(guideline))
    metadata = [_element(f"PlanDefinition.{name}", rule="metadata", min=1)
                for name in ("url", "version", "name", "title", "status", "date")]
    publisher = ("The network's name" if guideline else "The owning trust's name")
    elements = [
        root,
        _element("PlanDefinition.meta", min=1),
        _element("PlanDefinition.meta.profile", rule="profile", min=1, patternCanonical=profile),
        _element("PlanDefinition.extension", slicing={"discriminator": [{"type": "value", "path": "url"}],
                                                      "rules": "open"}),
        _element("PlanDefinition.extension:owningOrganization", rule="owning-organization",
                 sliceName="owningOrganization", min=1, max="1",
                 short="The host trust" if guideline else "The trust whose pathway this is",
                 type=[{"code": "Extension", "profile": [c.OWNING_ORGANIZATION_EXTENSION]}]),
        *metadata[:2],
        *metadata[2:],
        _element("PlanDefinition.publisher", rule=["metadata", "publisher"], min=1, short=publisher),
        _element("PlanDefinition.type", rule="type", min=1, patternCodeableConcept={
            "coding": [{"system": c.PLAN_DEFINITION_TYPE_SYSTEM, "code": "clinical-protocol"}]}),
        _element("PlanDefinition.useContext", slicing={"discriminator": [{"type": "pattern", "path": "code"}],
                                                       "rules": "open"}),
        *_use_context("topic", "focus", c.PATHWAY_TOPIC_SYSTEM, "topic", "The pathway topic"),
        *_use_context("network", "program", c.HOSTED_NETWORK_SYSTEM, "hosted-network", "The hosted network"),
        _element("PlanDefinition.relatedArtifact", rule="derived-from",
                 short="The adopted guideline: type derived-from, resource url|version"),
        _element("PlanDefinition.action", rule="action-id", short="One per step; steps are the leaf actions"),
        _element("PlanDefinition.action.id", rule="action-id", short="Unique in the pathway"),
        _element("PlanDefinition.action.code", rule=["step-kind", "contact-mode"],
                 short="Two concepts: the kind (pathway-step) and the contact mode (contact-mode)"),
        _element("PlanDefinition.action.trigger", rule="index-event",
                 short="On the first action: a named-event naming the topic's index event"),
        _element("PlanDefinition.action.timing[x]", rule=["timing", "units"],
                 short="An offset from the index event (or from the relatedAction's step), in UCUM units of time"),
        _element("PlanDefinition.action.relatedAction", rule="related-action",
                 short="Another step of the same pathway, without cycles"),
        _element("PlanDefinition.action.participant.role", rule="participant", binding={
            "strength": "extensible", "valueSet": terminology.value_set_url(c.CARE_ROLE_SYSTEM)}),
    ]
    if guideline:
        elements.append(_element("PlanDefinition.action.requiredBehavior", rule="guideline-step",
                                 short="must, could or must-unless-documented"))
    if guideline:
        return _definition("network-guideline", "Network guideline",
                           "A hosted network's agreed guideline for a pathway topic: the shape of a trust pathway, "
                           "with the network as publisher, the host trust as owner, and per step an allowed window "
                           "(timingRange) and requiredBehavior.", "PlanDefinition", elements)
    return _definition("trust-pathway", "Trust pathway",
                       "One trust's pathway for a pathway topic: its steps, each with a kind, a contact mode, who "
                       "delivers it and when, as an offset from the topic's index event.", "PlanDefinition", elements)


def _extension(id_: str, title: str, description: str, value_type: str, context: list[str], *,
               rule: str | None = None, register: str | None = None, binding: str | None = None,
               value: Sequence[JsonDict] = (), constraint: Sequence[JsonDict] = ()) -> JsonDict:
    """A simple extension; ``binding`` is the ValueSet its coded value must come from."""
    root: JsonDict = {"short": title, "definition": description, "max": "1"}
    if constraint:
        root["constraint"] = list(constraint)
    typed: JsonDict = {"min": 1, "type": [{"code": value_type}]}
    if binding:
        typed["binding"] = {"strength": "required", "valueSet": binding}
    elements = [
        _element("Extension", rule=rule, register=register, **root),
        _element("Extension.extension", max="0"),
        _element("Extension.url", fixedUri=f"{SD_BASE}/{id_}"),
        _element("Extension.value[x]", rule=rule, **typed),
        *value,
    ]
    return _definition(id_, title, description, "Extension", elements, kind="complex-type", context=context,
                       register=register is not None)


def _owning_organization() -> JsonDict:
    return _extension(
        "owning-organization", "Owning organisation",
        "The trust that owns the pathway (for a guideline: the host trust), by ODS code.", "Identifier",
        ["PlanDefinition"], rule="owning-organization",
        value=[_element("Extension.value[x].system", rule="owning-organization", min=1, fixedUri=c.ODS_SYSTEM),
               _element("Extension.value[x].value", rule="owning-organization", min=1,
                        short=f"One of the network's ODS codes: {', '.join(c.TRUSTS)}")],
        constraint=[_constraint("owning-organization", "The ODS code is one of the network's trusts",
                                f"value.ofType(Identifier).value in {_one_of(c.TRUSTS)}", 2)])


def _register_extensions() -> list[JsonDict]:
    found = []
    for url, (field, value_type, what, _minimum) in REGISTER_EXTENSIONS.items():
        id_ = url.rsplit("/", 1)[1]
        bound = {"topic": c.PATHWAY_TOPIC_SYSTEM, "dimension": VARIATION_DIMENSION_SYSTEM}.get(field)
        title = "Warranted variation: " + field.replace("_", " ")
        found.append(_extension(id_, title, what, value_type, ["Basic"], register=field,
                                binding=terminology.value_set_url(bound) if bound else None))
    return found


def _warranted_variation() -> JsonDict:
    slices = []
    for url, (field, _type, what, minimum) in REGISTER_EXTENSIONS.items():
        name = url.rsplit("/", 1)[1].removeprefix("variation-").replace("-", "_")
        slices.append(_element(f"Basic.extension:{name}", register=field, sliceName=name, short=what,
                               min=minimum, max="1", type=[{"code": "Extension", "profile": [url]}]))
    review_by = f"extension.where(url = {_quote(c.VARIATION_REVIEW_BY_EXTENSION)}).value.ofType(date)"
    elements = [
        _element("Basic", short="One entry of the register of warranted variation",
                 definition="The network agreed that one trust's difference from the guideline has a good reason, "
                            "until review_by. variation-register.yaml is its file form.",
                 constraint=[{"key": "wv-1", "severity": "error",
                              "human": "review_by is not before agreed_on",
                              "expression": f"created.exists() and {review_by}.exists() implies "
                                            f"{review_by}.first() >= created",
                              "source": WARRANTED_VARIATION_PROFILE}]),
        _element("Basic.meta", min=1),
        _element("Basic.meta.profile", min=1, patternCanonical=WARRANTED_VARIATION_PROFILE),
        _element("Basic.extension", slicing={"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}),
        *slices,
        _element("Basic.code", min=1, patternCodeableConcept={
            "coding": [{"system": c.REGISTER_ENTRY_TYPE_SYSTEM, "code": c.WARRANTED_VARIATION_CODE}]}),
        _element("Basic.subject", register="trust", min=1, short="The trust: Organization/<ODS code>, with its "
                 "identifier", type=[{"code": "Reference", "targetProfile": [f"{CORE}/Organization"]}]),
        _element("Basic.subject.reference", register="trust", min=1),
        _element("Basic.subject.identifier", register="trust", min=1),
        _element("Basic.subject.identifier.system", register="trust", min=1, fixedUri=c.ODS_SYSTEM),
        _element("Basic.subject.identifier.value", register="trust", min=1,
                 short=f"One of the network's ODS codes: {', '.join(c.TRUSTS)}"),
        _element("Basic.created", register="agreed_on", min=1, short="agreed_on: when the network agreed it"),
        _element("Basic.author", register="agreed_by", min=1, short="agreed_by: who agreed it, in words (display)"),
        _element("Basic.author.display", register="agreed_by", min=1),
    ]
    return _definition("warranted-variation", "Warranted variation",
                       "An entry of the network's register of warranted variation: a trust, a topic, optionally a "
                       "guideline step, the dimension that differs, why, who agreed it and when, and when it must "
                       "be reviewed.", "Basic", elements, register=True)


def structure_definitions() -> list[JsonDict]:
    """Every StructureDefinition of the Harmonise profile, built afresh (callers may change them)."""
    return [_plan_definition(False), _plan_definition(True), _owning_organization(), _warranted_variation(),
            *_register_extensions()]
