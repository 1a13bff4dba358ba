"""The operator API's route table."""

from __future__ import annotations

from m2mportal.gateway.endpoints import Endpoint
from m2mportal.models import (
    Application,
    ApplicationChange,
    ApplicationCredentials,
    ApplicationSecrets,
    CatalogItem,
    ClockAdvance,
    ClockState,
    ImportResult,
    LimitsBody,
    NewApplication,
    NewMaterial,
    NewOption,
    NewPartner,
    NewPortalUser,
    NewProfile,
    NewSims,
    NewTariff,
    NewTestEvent,
    Partner,
    PortalUserOut,
    PublishedEvent,
    RotatedSecret,
    SecretRotation,
    SubscriptionBacklog,
)
from m2mportal.operator import handlers as h


def _op(method: str, path: str, handler: h.Any, summary: str, **kw: h.Any) -> Endpoint:
    kw.setdefault("errors", (400, 401, 403, 404))
    return Endpoint(method, path, handler, summary, "Operator", role="operator", **kw)


ENDPOINTS: list[Endpoint] = [
    _op("POST", "/partners", h.create_partner, "Create a partner or subunit",
        body=NewPartner, response=Partner, status=201),
    _op("GET", "/partners/{partnerId}", h.get_partner, "Get a partner with subunits",
        response=Partner),
    _op("POST", "/partners/{partnerId}/portal-users", h.create_portal_user,
        "Create a portal user (technical contact)", body=NewPortalUser, response=PortalUserOut,
        status=201, errors=(400, 401, 403, 404, 409)),
    _op("POST", "/partners/{partnerId}/applications", h.register_application,
        "Register an application (credentials are shown once)", body=NewApplication,
        response=ApplicationCredentials, status=201),
    _op("GET", "/partners/{partnerId}/applications", h.list_applications,
        "List a partner's applications", response=list[Application]),
    _op("GET", "/applications/{clientId}", h.get_application, "Get an application",
        response=Application),
    _op("PATCH", "/applications/{clientId}", h.change_application,
        "Change an application (ipWhitelist, readOnly, name)", body=ApplicationChange,
        response=Application),
    _op("DELETE", "/applications/{clientId}", h.delete_application, "Delete an application"),
    _op("GET", "/applications/{clientId}/secrets", h.get_secrets,
        "Show an application's client and event client secrets", response=ApplicationSecrets),
    _op("POST", "/applications/{clientId}/secrets/rotate", h.rotate_secret,
        "Replace the client or the event client secret (the old one is refused at once)",
        body=SecretRotation, response=RotatedSecret),
    _op("POST", "/partners/{partnerId}/sims", h.add_sims,
        "Add SIM records (all or nothing)", body=NewSims, response=ImportResult, status=201),
    _op("POST", "/tariffs", h.create_tariff, "Create a tariff", body=NewTariff,
        response=CatalogItem, status=201),
    _op("POST", "/options", h.create_option, "Create an option", body=NewOption,
        response=CatalogItem, status=201),
    _op("POST", "/materials", h.create_material, "Create a SIM material", body=NewMaterial,
        response=CatalogItem, status=201),
    _op("POST", "/profiles", h.create_profile, "Create a limit, fraud or cost-limit profile",
        body=NewProfile, response=CatalogItem, status=201),
    _op("PUT", "/partners/{partnerId}/limits", h.set_limits,
        "Set a partner's rate limits per class", body=LimitsBody, response=dict[str, list[str]]),
    _op("GET", "/subscriptions/{subscriptionId}", h.get_subscription,
        "A subscription's backlog: undelivered events, oldest undelivered, last delivered",
        response=SubscriptionBacklog),
    _op("POST", "/events/test", h.publish_test_event, "Publish a test event to a partner",
        body=NewTestEvent, response=PublishedEvent, status=201),
    _op("GET", "/clock", h.get_clock, "Read the platform clock", response=ClockState),
    _op("POST", "/clock/advance", h.advance_clock, "Move the simulated clock forward",
        body=ClockAdvance, response=ClockState),
]  # fmt: skip
