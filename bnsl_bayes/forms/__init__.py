"""The functional forms a model specification can name: the BNSL and the paper's baselines.

This package is the one place that branches on the form (:class:`~.base.Form`): the model of
each form, its parameters in user units and its law.
"""

from __future__ import annotations

from .base import Form, SiteInfo
from .baselines import M1Form, M2Form, M3Form, M4Form
from .bnsl import BNSLForm

__all__ = ["FORMS", "Form", "SiteInfo", "get_form"]

#: The forms by name.
FORMS: dict[str, Form] = {f.name: f for f in (BNSLForm(), M1Form(), M2Form(), M3Form(),
                                              M4Form())}


def get_form(name: str) -> Form:
    """The form called ``name`` (a key of :data:`FORMS`).

    Raises
    ------
    ValueError
        Unknown name; the message lists the forms.
    """
    try:
        return FORMS[name]
    except KeyError:
        raise ValueError(f"unknown form {name!r}; expected one of {list(FORMS)}") from None
