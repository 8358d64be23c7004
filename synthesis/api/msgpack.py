"""application/msgpack bodies and responses (Fish Speech clients send ormsgpack)."""
from __future__ import annotations

import ormsgpack
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.utils.encoders import JSONEncoder


class ObjectJSONParser(JSONParser):
    """JSON bodies: an object, nested within reason (a 100,000-deep array is a 400, not a crash)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as e:
            raise ParseError("JSON body is nested too deeply") from e
        if not isinstance(data, dict):
            raise ParseError("JSON body must be an object")
        return data


class MsgpackParser(BaseParser):
    media_type = "application/msgpack"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = ormsgpack.unpackb(stream.read())
        except (ormsgpack.MsgpackDecodeError, ValueError, TypeError, RecursionError) as e:
            raise ParseError(f"Malformed msgpack body: {e}") from e
        if not isinstance(data, dict):
            raise ParseError("msgpack body must be a map")
        return data


class XMsgpackParser(MsgpackParser):
    media_type = "application/x-msgpack"


class MsgpackRenderer(BaseRenderer):
    media_type = "application/msgpack"
    format = "msgpack"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b"" if data is None else ormsgpack.packb(data)


class FormatOrAccept(DefaultContentNegotiation):
    """?format=json|msgpack or the Accept header pick the body's serialization; JSON otherwise."""

    def select_renderer(self, request, renderers, format_suffix=None):
        fmt = request.query_params.get("format")
        by_format = [r for r in renderers if r.format == fmt]
        if by_format:
            return by_format[0], by_format[0].media_type
        accept = request.META.get("HTTP_ACCEPT", "")
        for renderer in renderers:
            if renderer.media_type in accept:
                return renderer, renderer.media_type
        return renderers[0], renderers[0].media_type


class BytesJSONEncoder(JSONEncoder):
    def default(self, obj):
        if isinstance(obj, (bytes, bytearray)):
            import base64

            return base64.b64encode(obj).decode()
        return super().default(obj)


class BytesJSONRenderer(JSONRenderer):
    """JSON where bytes (audio, in msgpack responses) become base64 strings."""

    encoder_class = BytesJSONEncoder
