"""Route 53's error codes as one exception type; the status comes from
botocore's model where the code is a modelled shape."""
from __future__ import annotations

from ..errors import ServiceError
from ._route53_model import SHAPES


class Route53Error(ServiceError):
    """Becomes an ErrorResponse with this Code and Message."""

    def __init__(self, code: str, message: str, status: int | None = None,
                 messages: list[str] | None = None, extra_xml: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.messages = messages
        # modelled members beyond Message (e.g. a protection batch's Errors),
        # already XML, placed inside <Error>
        self.extra_xml = extra_xml
        if status is None:
            status = SHAPES.get(code, {}).get("error", {}).get("httpStatusCode", 400)
        self.status = status


def invalid_input(message: str) -> Route53Error:
    return Route53Error("InvalidInput", message, 400)


def invalid_change_batch(messages: list[str]) -> Route53Error:
    return Route53Error("InvalidChangeBatch", "[" + ", ".join(messages) + "]", 400,
                        messages=list(messages))
