"""The staff form for a machine's connection (the same service as the API's PUT)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from makerspace.machines.models import ConnectionKind

KIND_LABELS = {ConnectionKind.OCTOPRINT: "OctoPrint", ConnectionKind.MOONRAKER:
               "Moonraker (Klipper)", ConnectionKind.PRUSALINK: "PrusaLink"}


class ConnectionForm(FlaskForm):
    kind = SelectField(_l("Kind of connection"),
                       choices=[SelectChoice(k.value, label)
                                for k, label in KIND_LABELS.items()])
    url = StringField(_l("Address"), validators=[DataRequired(), Length(max=500)],
                      description=_l("The machine's address on the library's network, e.g. "
                                     "http://10.0.0.12 or http://voron.local:7125."),
                      render_kw={"inputmode": "url", "autocomplete": "off",
                                 "spellcheck": "false"})
    # Write-only: never filled in again; empty keeps the saved key.
    api_key = PasswordField(_l("API key"), validators=[Length(max=500)],
                            render_kw={"autocomplete": "off"})
    remove_key = BooleanField(_l("Remove the saved API key"))
    check_in_on_start = BooleanField(_l("Check the booking in when a job starts"),
                                     default=True)
    finish_on_end = BooleanField(_l("Mark the outcome and free the rest of the booking when "
                                    "a job ends"), default=True)

    def connection_fields(self) -> dict[str, Any]:
        """What set_connection takes: the key only when one is given or removed."""
        api_key = "" if self.remove_key.data else (self.api_key.data or "").strip() or None
        return {"kind": self.kind.data, "url": self.url.data, "api_key": api_key,
                "check_in_on_start": self.check_in_on_start.data,
                "finish_on_end": self.finish_on_end.data}
