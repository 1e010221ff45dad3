"""The shared rules for names and values that cross process boundaries. Pure.

One home for each rule (ids, EPCs, read points, finite numbers), as ``Annotated``
types that pydantic models use and plain patterns that other code can match with.
Every string and list that comes from outside has a bound here or in the model
that uses it.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
"""Site, edge, reader, scale and group names: an MQTT topic segment (1-63 characters)."""
ID_RE = re.compile(ID_PATTERN)

EPC_HEX_PATTERN = r"^(?:[0-9A-F]{4}){1,31}$"
"""An EPC as upper-case hex: whole 16-bit words, at most 496 bits."""
MAX_EPC_HEX = 124

READ_POINT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}/[a-z0-9][a-z0-9_-]{0,62}$"
"""``<place>/<spot>``: ``door-3/outside``, ``zone-b/shelf``."""

DeviceId = Annotated[str, Field(pattern=ID_PATTERN, description="1-63 of A-Z a-z 0-9 _ . -")]
EpcHex = Annotated[str, Field(pattern=EPC_HEX_PATTERN, description="EPC as upper-case hex")]
ReadPointName = Annotated[
    str, Field(pattern=READ_POINT_PATTERN, description="<place>/<spot>, e.g. door-3/outside")
]
Rate = Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False)]
"""Events per second, finite and not negative."""
Seconds = Annotated[float, Field(ge=-1e7, le=1e7, allow_inf_nan=False)]
"""A finite duration or offset of at most about 115 days either way."""
