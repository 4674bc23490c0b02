"""The staff page of a machine's connection: the branch's librarians and admins; everyone
else gets 404. The same services as the API's /equipment/{id}/connection."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from makerspace import clock
from makerspace.auth import managed_or_404, staff_required
from makerspace.booking.models import Equipment
from makerspace.booking.services import equipment_by_id
from makerspace.core.forms import EmptyForm
from makerspace.core.transaction import attempt
from makerspace.machines import services
from makerspace.machines.forms import ConnectionForm

bp = Blueprint("machines_staff", __name__, url_prefix="/staff")


def _managed(equipment_id: int) -> Equipment:
    equipment = equipment_by_id(equipment_id)  # EquipmentNotFound is a 404
    managed_or_404(equipment.branch)
    return equipment


@bp.route("/equipment/<id:equipment_id>/connection", methods=["GET", "POST"])
@staff_required
def connection(equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = _managed(equipment_id)
    saved = services.connection_of(equipment)
    form = ConnectionForm(obj=saved)
    problem = None
    if form.validate_on_submit():
        done = attempt(lambda: services.set_connection(equipment, now=clock.now(),
                                                       **form.connection_fields()))
        if not done.refused:
            flash(_("The connection has been saved."), "success")
            return redirect(url_for("machines_staff.connection", equipment_id=equipment_id))
        field = getattr(form, str(done.refusal.extra.get("field")), None)  # type: ignore[union-attr]
        if field is not None:
            field.errors = [*field.errors, done.message]
        else:
            problem = done.message
        saved = services.connection_of(equipment)
    has_key = saved is not None and services.has_key(saved)
    form.api_key.description = (_("Write-only: leave it empty to keep the saved key.")
                                if has_key else _("Moonraker that trusts the server's address "
                                                  "needs none."))
    return render_template(
        "machines/connection.html", equipment=equipment, branch=equipment.branch, form=form,
        problem=problem, saved=saved, has_key=has_key, remove_form=EmptyForm(),
    ), 422 if form.errors or problem else 200


@bp.post("/equipment/<id:equipment_id>/connection/remove")
@staff_required
def remove_connection(equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = _managed(equipment_id)
    if EmptyForm().validate_on_submit() and not attempt(
            lambda: services.remove_connection(equipment)).refused:
        flash(_("The machine is disconnected."), "success")
    return redirect(url_for("machines_staff.connection", equipment_id=equipment_id))
