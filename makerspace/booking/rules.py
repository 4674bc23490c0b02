"""A machine's booking rules, defined once: name, default, range, label. The model's defaults,
the staff form, the API schema and the validation are all made from this table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from makerspace.booking import errors


@dataclass(frozen=True)
class EquipmentRule:
    name: str
    default: int | None
    low: int
    high: int
    label: Any  # a lazy string
    description: Any = None
    required: bool = True  # False: may be left empty (None)


EQUIPMENT_RULES = (
    EquipmentRule("slot_minutes", 30, 5, 240, _l("Time step (minutes)"),
                  _l("Bookings start and end on these steps.")),
    EquipmentRule("min_minutes", 60, 5, 1440, _l("Shortest booking (minutes)")),
    EquipmentRule("max_minutes", 240, 5, 1440, _l("Longest booking (minutes)")),
    EquipmentRule("buffer_minutes", 0, 0, 1440, _l("Buffer after each booking (minutes)"),
                  _l("Time for cooling or cleaning before the next booking.")),
    EquipmentRule("max_advance_days", 14, 0, 365, _l("Bookable days ahead")),
    EquipmentRule("min_age", None, 0, 100, _l("Age limit (optional)"),
                  _l("People may book from the year they turn this age."), required=False),
    EquipmentRule("unattended_max_minutes", 0, 0, 1440,
                  _l("Longest unattended job (minutes)"),
                  _l("A job may run past closing without staff for this long; 0: never.")),
)
RULES = {rule.name: rule for rule in EQUIPMENT_RULES}
RULE_DEFAULTS: dict[str, int | None] = {rule.name: rule.default for rule in EQUIPMENT_RULES}


def check_rules(values: Mapping[str, Any]) -> None:
    """Raise InvalidEquipmentRules unless the rules are each in range and fit together;
    `values` has every rule's name (and "name")."""
    for rule in EQUIPMENT_RULES:
        value = values[rule.name]
        if value is None and not rule.required:
            continue
        if not isinstance(value, int) or not rule.low <= value <= rule.high:
            raise errors.InvalidEquipmentRules(
                _("%(rule)s: from %(low)s to %(high)s.", rule=rule.label, low=rule.low,
                  high=rule.high), field=rule.name)
    step = values["slot_minutes"]
    if values["min_minutes"] < step or values["min_minutes"] % step:
        raise errors.InvalidEquipmentRules(
            _("The shortest booking must be a whole number of time steps."), field="min_minutes")
    if values["max_minutes"] < values["min_minutes"] or values["max_minutes"] % step:
        raise errors.InvalidEquipmentRules(
            _("The longest booking must be a whole number of time steps, no shorter than the "
              "shortest and at most 24 hours."), field="max_minutes")
    if not str(values.get("name", "")).strip():
        raise errors.InvalidEquipmentRules(_("A name is required."), field="name")
