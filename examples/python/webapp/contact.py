"""The Web Analyzer docs' ``submitContactForm`` (Laravel controller): process the form, then
track ``form_submit`` server-side, linked to the visitor through the form's hidden
``visitor_id`` field."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from .tracking import client_visitor_id, tracking

bp = Blueprint("contact", __name__)

REQUIRED = ("name", "email", "subject", "message")


@bp.get("/contact")
def contact_page() -> str:
    return render_template("contact.html", sent=request.args.get("sent") == "1", errors=[], form={})


@bp.post("/contact")
def submit_contact_form() -> Any:
    form = {field: request.form.get(field, "").strip() for field in REQUIRED}
    errors = [field for field, value in form.items() if not value]
    if errors:  # what $request->validated() would refuse
        return render_template("contact.html", sent=False, errors=errors, form=form), 422
    current_app.config["CONTACT_MESSAGES"].append(form)  # ContactMessage::create(...)
    tracking().analytics.track(
        "form_submit",
        {"form": "contact", "subject": form["subject"]},
        anonymous_id=client_visitor_id(request.form.get("visitor_id")),
    )
    return redirect(url_for(".contact_page", sent=1), 303)
