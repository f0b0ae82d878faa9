"""The two kinds of survey, their score scales and the metric rules that read them.

A leaf module (it imports nothing of the project), so the interventions' channels can
render a survey's answers without depending on the surveys room, and the command line can
name its options without loading the database layer.
"""

from __future__ import annotations

import enum


class SurveyKind(enum.StrEnum):
    NPS = "nps"  # "How likely are you to recommend WedSync?" 0-10
    CSAT = "csat"  # "How satisfied were you?" 1-5


class SurveyChannel(enum.StrEnum):
    EMAIL = "email"
    IN_APP = "in_app"


class Segment(enum.StrEnum):
    """What a report is broken down by: the supplier's current values, or why the survey
    answered was asked (``trigger``; ``unprompted`` for responses no survey of ours asked)."""

    NONE = "none"
    VENDOR_TYPE = "vendor_type"
    PLAN = "plan"
    COUNTRY = "country"
    TRIGGER = "trigger"


SCALES: dict[SurveyKind, tuple[int, int]] = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5)}
"""The lowest and highest score of each kind, both included."""

QUESTIONS: dict[SurveyKind, str] = {
    SurveyKind.NPS: "How likely are you to recommend WedSync to another wedding business?",
    SurveyKind.CSAT: "How satisfied are you with the help you had from us?",
}

TEMPLATE_PREFIX = "survey_"
"""A survey's message is an intervention whose template is ``survey_<kind>``."""

MAX_COMMENT_CHARS = 2000

PROMOTER_MIN = 9
"""NPS: promoters score 9-10, passives 7-8, detractors 0-6."""
DETRACTOR_MAX = 6
SATISFIED_MIN = 4
"""CSAT: the share of responses scoring 4-5 of 5."""
CSAT_LOW_MAX = 2
"""A CSAT of 1-2 is a low score the team hears about (a success event)."""


def scale(kind: SurveyKind) -> range:
    low, high = SCALES[kind]
    return range(low, high + 1)


def template_of(kind: SurveyKind) -> str:
    return f"{TEMPLATE_PREFIX}{kind.value}"


def kind_of_template(template: str) -> SurveyKind | None:
    """The survey kind an intervention's template names, or ``None`` for other messages."""
    if not template.startswith(TEMPLATE_PREFIX):
        return None
    try:
        return SurveyKind(template.removeprefix(TEMPLATE_PREFIX))
    except ValueError:
        return None


def is_low(kind: SurveyKind, score: int) -> bool:
    """An NPS detractor (0-6) or a low CSAT (1-2): a success event a playbook can act on."""
    return score <= (DETRACTOR_MAX if kind is SurveyKind.NPS else CSAT_LOW_MAX)
