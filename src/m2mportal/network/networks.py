"""Mobile networks by MCC/MNC: the name and country a session or SMS shows.

A small table of well-known networks; any other code shows as ``MCC/MNC`` with the
country of its MCC where known (ITU-T E.212), so every record still has a network.
"""

from __future__ import annotations

from m2mportal.network.models import Network

_COUNTRIES = {
    "202": "GR", "204": "NL", "206": "BE", "208": "FR", "214": "ES", "222": "IT",
    "226": "RO", "228": "CH", "230": "CZ", "231": "SK", "232": "AT", "234": "GB",
    "235": "GB", "238": "DK", "240": "SE", "242": "NO", "244": "FI", "260": "PL",
    "262": "DE", "268": "PT", "270": "LU", "272": "IE", "216": "HU", "219": "HR",
    "310": "US", "311": "US", "302": "CA", "334": "MX", "440": "JP", "450": "KR",
    "460": "CN", "505": "AU", "530": "NZ", "724": "BR", "286": "TR", "250": "RU",
}  # fmt: skip

_NAMES = {
    ("262", "01"): "Telekom Deutschland",
    ("262", "02"): "Vodafone Germany",
    ("262", "03"): "Telefonica Germany",
    ("232", "03"): "Magenta Telekom",
    ("204", "16"): "Odido",
    ("230", "01"): "T-Mobile Czech Republic",
    ("216", "30"): "Magyar Telekom",
    ("219", "01"): "Hrvatski Telekom",
    ("202", "01"): "Cosmote",
    ("260", "02"): "T-Mobile Polska",
    ("208", "01"): "Orange France",
    ("234", "15"): "Vodafone UK",
    ("310", "260"): "T-Mobile USA",
    ("228", "01"): "Swisscom",
}


def network(mcc: str, mnc: str) -> Network:
    return Network(
        mcc=mcc,
        mnc=mnc,
        name=_NAMES.get((mcc, mnc), f"{mcc}/{mnc}"),
        country=_COUNTRIES.get(mcc, ""),
    )
