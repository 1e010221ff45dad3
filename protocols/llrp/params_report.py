"""What a reader reports about each tag it singulated (RO_ACCESS_REPORT, section 13.2.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocols.llrp import params_tv as tv
from protocols.llrp.layout import Layout, Many, One, Parameter, TVValue, tlv_parameter
from protocols.llrp.params_c1g2 import C1G2_OP_SPEC_RESULTS, C1G2OpSpecResult
from protocols.llrp.wire import BitArray, BitString


@tlv_parameter(241)
@dataclass(frozen=True, slots=True)
class EPCData(Parameter):
    """An EPC of any bit length (the TLV form; 96-bit EPCs usually come as EPC96)."""

    LAYOUT: ClassVar[Layout] = (("epc", BitArray()),)
    epc: BitString


@tlv_parameter(240)
@dataclass(frozen=True, slots=True)
class TagReportData(Parameter):
    """One tag (per antenna, when antenna ids are reported) and the fields asked for."""

    LAYOUT: ClassVar[Layout] = (
        ("epc", One(tv.EPC96, EPCData)),
        ("rospec_id", TVValue(tv.ROSpecID)),
        ("spec_index", TVValue(tv.SpecIndex)),
        ("inventory_parameter_spec_id", TVValue(tv.InventoryParameterSpecID)),
        ("antenna_id", TVValue(tv.AntennaID)),
        ("peak_rssi", TVValue(tv.PeakRSSI)),
        ("channel_index", TVValue(tv.ChannelIndex)),
        ("first_seen_utc", TVValue(tv.FirstSeenTimestampUTC)),
        ("first_seen_uptime", TVValue(tv.FirstSeenTimestampUptime)),
        ("last_seen_utc", TVValue(tv.LastSeenTimestampUTC)),
        ("last_seen_uptime", TVValue(tv.LastSeenTimestampUptime)),
        ("tag_seen_count", TVValue(tv.TagSeenCount)),
        ("c1g2_pc", TVValue(tv.C1G2PC)),
        ("c1g2_crc", TVValue(tv.C1G2CRC)),
        ("access_spec_id", TVValue(tv.AccessSpecID)),
        ("op_spec_results", Many(*C1G2_OP_SPEC_RESULTS)),
    )
    epc: tv.EPC96 | EPCData
    rospec_id: int | None = None
    spec_index: int | None = None
    inventory_parameter_spec_id: int | None = None
    antenna_id: int | None = None
    peak_rssi: int | None = None
    """dBm."""
    channel_index: int | None = None
    first_seen_utc: int | None = None
    """Microseconds since the Unix epoch."""
    first_seen_uptime: int | None = None
    last_seen_utc: int | None = None
    last_seen_uptime: int | None = None
    tag_seen_count: int | None = None
    c1g2_pc: int | None = None
    c1g2_crc: int | None = None
    access_spec_id: int | None = None
    op_spec_results: tuple[C1G2OpSpecResult, ...] = ()

    @property
    def epc_bytes(self) -> bytes:
        """The EPC whichever form it came in."""
        return self.epc.epc if isinstance(self.epc, tv.EPC96) else self.epc.epc.data

    @property
    def epc_hex(self) -> str:
        """The EPC as upper-case hex."""
        return self.epc_bytes.hex().upper()
