"""``rfidwms epc``: decode and encode GS1 EPCs (SGTIN-96, SSCC-96, GRAI-96, GIAI-96).

    rfidwms epc decode 3074257BF7194E4000001A85
    rfidwms epc decode urn:epc:tag:sscc-96:3.0614141.1234567890
    rfidwms epc encode urn:epc:id:sgtin:0614141.812345.6789 --filter 3
    rfidwms epc encode '(01)80614141123458(21)6789' --company-prefix-length 7

Every form of the EPC is printed as ``key: value`` lines.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from protocols.epc import AnyEpc, EPCError, decode_element_string, decode_epc

EXIT_BAD_INPUT = 2


def add_parser(subparsers: Any) -> None:
    """Add the ``epc`` command to the ``rfidwms`` sub-command parsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "epc",
        help="decode or encode GS1 EPCs (SGTIN-96, SSCC-96, GRAI-96, GIAI-96)",
        description="Convert GS1 EPCs between hex, pure-identity URI, tag URI and "
        "GS1 element string.",
    )
    actions = parser.add_subparsers(dest="epc_action", required=True, metavar="ACTION")

    decode = actions.add_parser(
        "decode",
        help="decode 24 hex digits or an urn:epc:id:/urn:epc:tag: URI",
        description="Decode an EPC read from a tag (24 hex digits) or written as a URI.",
    )
    decode.add_argument("epc", help="24 hex digits, or an urn:epc:id: / urn:epc:tag: URI")
    _add_filter(decode)

    encode = actions.add_parser(
        "encode",
        help="encode a URI or GS1 element string into the tag's hex EPC",
        description="Encode a pure-identity URI, tag URI or GS1 element string "
        "((01)..(21).., (00).., (8003).., (8004)..) into the 96-bit EPC.",
    )
    encode.add_argument("identity", help="urn:epc:id: or urn:epc:tag: URI, or element string")
    _add_filter(encode)
    encode.add_argument(
        "--company-prefix-length",
        type=int,
        metavar="DIGITS",
        help="digits of the GS1 Company Prefix (6..12); needed for element strings",
    )
    parser.set_defaults(func=run)


def _add_filter(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--filter",
        type=int,
        metavar="N",
        help="filter value 0..7 for input that carries none (pure-identity URI, "
        "element string); default 0",
    )


def run(args: argparse.Namespace) -> int:
    """Decode or encode ``args`` and print every form; 2 on bad input."""
    try:
        epc = _convert(args)
    except EPCError as error:
        print(f"rfidwms epc {args.epc_action}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for key, value in epc.as_dict().items():
        print(f"{key}: {value}")
    return 0


def _convert(args: argparse.Namespace) -> AnyEpc:
    text: str = args.epc if args.epc_action == "decode" else args.identity
    requested: int | None = args.filter
    filter_value = 0 if requested is None else requested
    if text.strip().startswith("("):
        length: int | None = getattr(args, "company_prefix_length", None)
        if args.epc_action == "decode":
            raise EPCError(
                f"{text!r} is a GS1 element string: use 'rfidwms epc encode' with "
                "--company-prefix-length"
            )
        if length is None:
            raise EPCError(
                f"GS1 element string {text!r} needs --company-prefix-length (6..12): "
                "it does not say where the company prefix ends"
            )
        return decode_element_string(text, company_prefix_length=length, filter=filter_value)
    epc = decode_epc(text, filter=filter_value)
    if requested is not None and epc.filter != requested:
        raise EPCError(
            f"--filter {requested} conflicts with filter {epc.filter} carried by {text!r}"
        )
    return epc
