"""ISO 4217 codes of currencies people price things in (funds, metals and test codes left out)."""

from __future__ import annotations

from decimal import Decimal

_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""

CURRENCIES = frozenset(_CODES.split())

# ISO 4217 minor units where they are not two (every other code above counts in hundredths).
_WHOLE_CODES = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_PLACE_CODES = "BHD IQD JOD KWD LYD OMR TND"
_WHOLE = frozenset(_WHOLE_CODES.split())
_THREE_PLACES = frozenset(_THREE_PLACE_CODES.split())


def minor_units(currency: str) -> int:
    """Decimal places of ``currency``'s smallest unit: JPY 0, EUR 2, KWD 3."""
    return 0 if currency in _WHOLE else 3 if currency in _THREE_PLACES else 2


def in_minor_units(price: Decimal, currency: str) -> Decimal | None:
    """``price`` written to the currency's places (JPY 1500, EUR 12.50, KWD 1.250); None when it
    holds a fraction of the smallest unit (12.5 yen)."""
    exact = price.quantize(Decimal(1).scaleb(-minor_units(currency)))
    return exact if exact == price else None
