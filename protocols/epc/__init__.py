"""GS1 EPC Tag Data Standard codecs for the 96-bit schemes rfidwms uses.

SGTIN-96 (cases and items), SSCC-96 (pallets), GRAI-96 (returnable assets) and
GIAI-96 (fixed assets), each convertible between 24 hex digits, pure-identity
URI, tag URI and GS1 element string::

    >>> from protocols.epc import Sgtin96, decode_epc
    >>> tag = Sgtin96(company_prefix="0614141", item_reference="812345", serial=6789, filter=3)
    >>> tag.to_hex()
    '3074257BF7194E4000001A85'
    >>> decode_epc("3074257BF7194E4000001A85").uri
    'urn:epc:id:sgtin:0614141.812345.6789'

Pure code: no I/O. Every error is an :class:`EPCError` (a ``ValueError``).
"""

from protocols.epc.decode import (
    AnyEpc,
    decode_bytes,
    decode_element_string,
    decode_epc,
    decode_hex,
    decode_int,
    decode_uri,
)
from protocols.epc.epc96 import Epc96
from protocols.epc.errors import (
    CheckDigitError,
    EPCError,
    EPCSyntaxError,
    FieldRangeError,
    UnknownHeaderError,
    UnsupportedSchemeError,
)
from protocols.epc.giai import Giai96
from protocols.epc.grai import Grai96
from protocols.epc.gs1 import check_digit
from protocols.epc.sgtin import Sgtin96
from protocols.epc.sscc import Sscc96

__all__ = [
    "AnyEpc",
    "CheckDigitError",
    "EPCError",
    "EPCSyntaxError",
    "Epc96",
    "FieldRangeError",
    "Giai96",
    "Grai96",
    "Sgtin96",
    "Sscc96",
    "UnknownHeaderError",
    "UnsupportedSchemeError",
    "check_digit",
    "decode_bytes",
    "decode_element_string",
    "decode_epc",
    "decode_hex",
    "decode_int",
    "decode_uri",
]
