"""A person's own data: download it, or delete the account."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from makerspace.accounts.forms import ConfirmDeleteForm, DeleteAccountForm
from makerspace.accounts.services import has_password
from makerspace.core.transaction import attempt, form_page
from makerspace.privacy.services import delete_account, export_personal_data

bp = Blueprint("privacy", __name__)


@bp.get("/profile/export.json")
@login_required
def export_data():  # type: ignore[no-untyped-def]
    response = jsonify(export_personal_data(current_user))
    response.headers["Content-Disposition"] = 'attachment; filename="folkeverksted-data.json"'
    return response


@bp.route("/profile/delete", methods=["GET", "POST"])
@login_required
def delete_account_view():  # type: ignore[no-untyped-def]
    with_password = has_password(current_user)
    form = DeleteAccountForm() if with_password else ConfirmDeleteForm()
    if form.validate_on_submit():
        done = attempt(lambda: delete_account(
            current_user._get_current_object(),
            password=form.password.data if with_password else None))
        if not done.refused:
            logout_user()
            flash(_("Your account and your data have been deleted."), "success")
            return redirect(url_for("core.index"))
        (form.password if with_password else form.confirm).errors.append(done.message)
    return form_page("accounts/delete.html", form)
