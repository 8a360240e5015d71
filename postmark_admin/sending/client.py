"""Postmark's HTTP API: one pooled session per process, timeouts, safe retries, error parsing.

Retries (``POSTMARK_MAX_RETRIES``, ``POSTMARK_RETRY_BACKOFF``) cover only what
cannot have sent anything: HTTP 429 and 503, and connection failures before the
request went out. A read timeout, a 500 or a connection dropped after sending
may hide an accepted message, so they are raised at once (never a duplicate).

The server token travels only in the ``X-Postmark-Server-Token`` header: it is
never logged and never part of an exception.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from urllib3.exceptions import NewConnectionError

from ..config.api_hosts import api_url_problem
from ..config.crypto import MASK, Secret
from ..config.effective import EffectiveConfig, app_settings, effective_config
from ..config.fields import secret_problem
from ..exceptions import PostmarkConfigurationError, PostmarkTransportError
from .errors import error_from_answer
from .session import get_session

logger = logging.getLogger("postmark_admin.sending.client")

#: Postmark's test token: it validates a send and answers "Test job accepted", delivering nothing
#: (the effective configuration's ``test_mode`` sends every message with it).
TEST_SERVER_TOKEN = "POSTMARK_API_TEST"

#: Answers worth retrying: nothing was sent.
RETRY_STATUSES = frozenset({429, 503})

#: Errors raised while requests builds the request: nothing left.
_UNBUILDABLE = (
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.URLRequired,
)


class _HiddenHeaderValue(str):
    """A header value whose ``repr()`` is a mask.

    requests, urllib3 and http.client keep the header dict in their frames' locals; Django's
    error pages and reporters show locals with ``repr()``, so the token shows as the mask there.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


@sensitive_variables("headers")
def _send(
    session: requests.Session,
    method: str,
    url: str,
    server_token: Secret,
    *,
    data: bytes | None,
    params: Mapping[str, Any] | None,
    timeout: float,
) -> requests.Response:
    """The one place the clear token exists: in the header dict built here, handed to requests.

    ``sensitive_variables`` has Django's error reports mask ``headers`` here and in every frame
    below (requests', urllib3's); the header value's own ``repr()`` masks it even where that filter
    is off (``DEBUG = True``).
    """
    headers: dict[str, str] = {"X-Postmark-Server-Token": _HiddenHeaderValue(server_token.reveal())}
    if data is not None:
        headers["Content-Type"] = "application/json"
    return session.request(method=method, url=url, data=data, params=params, headers=headers, timeout=timeout)


def _classify(error: requests.RequestException) -> tuple[bool, bool]:
    """``(retryable, ambiguous)``: retry only when the request certainly never left.

    A failed TLS handshake sent nothing either, but a bad certificate will not heal
    by itself, so it is raised at once.
    """
    if isinstance(error, _UNBUILDABLE):
        return False, False
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True, False
    if isinstance(error, requests.exceptions.SSLError):
        return False, False
    if isinstance(error, requests.exceptions.ConnectionError):
        reason = error.args[0] if error.args else None
        reason = getattr(reason, "reason", reason)
        if isinstance(reason, NewConnectionError):
            return True, False
    return False, True


def retry_delay(attempt: int, backoff: float, cap: float) -> float:
    """Exponential backoff with full jitter: a random delay in [0, backoff * 2**attempt], capped."""
    return random.uniform(0, min(cap, backoff * (2**attempt)))


class PostmarkClient:
    """Postmark's server API with the effective configuration (``config``, or ``effective_config(**arguments)``).

    Every method returns the parsed JSON answer or raises :class:`~postmark_admin.exceptions.PostmarkAPIError`.
    """

    #: How the backoff waits (replaceable in tests).
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(self, config: EffectiveConfig | None = None, **arguments: Any) -> None:
        self.config = config if config is not None else effective_config(**arguments)

    def __repr__(self) -> str:
        return f"PostmarkClient(api_url={self.config.api_url!r})"

    # -- the transport ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        server_token: Secret | str | None = None,
        raise_for_status: bool = True,
    ) -> tuple[int, Any]:
        """Send one request (retried only when safe); returns ``(HTTP status, parsed JSON)``.

        ``data`` is an already serialized JSON body. With ``raise_for_status=False`` a
        422 answer is returned rather than raised (batch sending maps it to a message).
        """
        response, answer = self.exchange(
            method,
            path,
            json_body=json_body,
            data=data,
            params=params,
            server_token=server_token,
            raise_for_status=raise_for_status,
        )
        return response.status_code, answer

    def exchange(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        server_token: Secret | str | None = None,
        raise_for_status: bool = True,
    ) -> tuple[requests.Response, Any]:
        """:meth:`request`, returning the ``requests.Response`` itself with the parsed JSON.

        Sending keeps the response as a message's ``esp_response`` (what code written for
        django-anymail reads: ``.status_code``, ``.json()``).
        """
        problem = api_url_problem(self.config.api_url)
        if problem:
            raise PostmarkConfigurationError(problem)  # before the token is even looked at
        # Only Secrets here: a frame's locals (a DEBUG error page, an error mail) never show the token.
        server_token = self._server_token(server_token)
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        url = self.config.api_url + path.lstrip("/")
        max_retries = max(app_settings.MAX_RETRIES, 0)
        backoff = app_settings.RETRY_BACKOFF
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = _send(
                    get_session(),
                    method,
                    url,
                    server_token,
                    data=data,
                    params=params,
                    timeout=self.config.timeout,
                )
            except requests.RequestException as error:
                retryable, ambiguous = _classify(error)
                if retryable and attempt < max_retries:
                    self._wait(attempt, backoff, method, path, type(error).__name__)
                    attempt += 1
                    continue
                logger.warning("Postmark %s %s failed: %s", method, path, type(error).__name__)
                raise self._transport_error(error, ambiguous=ambiguous) from None
            except Exception as error:
                # Anything else the transport raised (an encoding error in urllib3 or http.client, a
                # bug in an adapter) is still a failed request: a PostmarkError, which fail_silently swallows.
                logger.warning("Postmark %s %s failed: %s", method, path, type(error).__name__)
                raise self._transport_error(error, ambiguous=not isinstance(error, ValueError)) from None
            status = response.status_code
            logger.debug(
                "Postmark %s %s -> %s in %.0f ms", method, path, status, (time.monotonic() - started) * 1000
            )
            if status in RETRY_STATUSES and attempt < max_retries:
                self._wait(attempt, backoff, method, path, str(status))
                attempt += 1
                continue
            answer = _parse(response)
            if 200 <= status < 300 or (status == 422 and not raise_for_status):
                return response, answer
            raise error_from_answer(status, answer)

    def _server_token(self, server_token: Secret | str | None) -> Secret:
        """The token for one request (``server_token``, else the configuration's), checked for header safety."""
        if server_token is None:
            self.config.require_server_token()  # raises for a missing or unusable token
            return self.config.server_token
        secret = server_token if isinstance(server_token, Secret) else Secret(server_token)
        problem = secret_problem("server_token", secret)
        if problem:
            raise PostmarkConfigurationError(
                _("The Postmark server token given for this message %(problem)s") % {"problem": problem}
            )
        return secret

    def _wait(self, attempt: int, backoff: float, method: str, path: str, why: str) -> None:
        delay = retry_delay(attempt, backoff, app_settings.RETRY_MAX_DELAY)
        logger.info("Postmark %s %s: %s, retrying in %.2f s", method, path, why, delay)
        if delay > 0:
            self.sleep(delay)

    def _transport_error(self, error: Exception, *, ambiguous: bool) -> PostmarkTransportError:
        if isinstance(error, _UNBUILDABLE) or (
            isinstance(error, ValueError) and not isinstance(error, requests.RequestException)
        ):
            description = _("The request to Postmark could not be built (%(error)s); nothing was sent.") % {
                "error": type(error).__name__
            }
        elif not isinstance(error, requests.RequestException):
            description = _(
                "The request to Postmark failed (%(error)s); the message may or may not have been sent. "
                "Look for it in Postmark's activity before sending it again."
            ) % {"error": type(error).__name__}
        elif isinstance(error, requests.exceptions.ConnectTimeout):
            description = _(
                "Connecting to Postmark at %(url)s took longer than the timeout of %(seconds)s seconds "
                "(from %(origin)s); nothing was sent. Check the network, or raise the timeout there."
            ) % self._placeholders("timeout")
        elif isinstance(error, requests.exceptions.Timeout):
            description = _(
                "Postmark did not answer within the timeout of %(seconds)s seconds (from %(origin)s); the "
                "message may or may not have been sent. Look for it in Postmark's activity before sending "
                "it again, and raise the timeout there if Postmark is often this slow."
            ) % self._placeholders("timeout")
        elif isinstance(error, requests.exceptions.SSLError):
            description = _(
                "The TLS connection to %(url)s failed (certificate or protocol); nothing was sent. For a "
                "private certificate authority, point REQUESTS_CA_BUNDLE at its certificate."
            ) % self._placeholders("api_url")
        elif not ambiguous:
            description = _(
                "Could not connect to Postmark at %(url)s (the API URL, from %(origin)s); nothing was "
                "sent. Check that address and the network."
            ) % self._placeholders("api_url")
        else:
            description = _(
                "The connection to Postmark broke; the message may or may not have been sent. Look for it "
                "in Postmark's activity before sending it again."
            )
        # The original exception text is left out: it can hold the request (and its headers).
        return PostmarkTransportError(description, ambiguous=ambiguous)

    def _placeholders(self, field: str) -> dict[str, str]:
        """The API URL, the timeout, and where ``field``'s value came from, for an error's sentence."""
        resolved = self.config.sources.get(field)
        origin = resolved.origin if resolved is not None else field
        return {"url": self.config.api_url, "seconds": f"{self.config.timeout:g}", "origin": origin}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs)[1]

    # -- sending ---------------------------------------------------------------------------

    def send(self, payload: Mapping[str, Any]) -> Any:
        """``POST /email``: one message object."""
        return self._call("POST", "email", json_body=payload)

    def send_batch(self, payloads: Iterable[Mapping[str, Any]]) -> Any:
        """``POST /email/batch``: at most 500 message objects; answers one result per message."""
        return self._call("POST", "email/batch", json_body=list(payloads))

    def send_with_template(self, payload: Mapping[str, Any]) -> Any:
        """``POST /email/withTemplate``."""
        return self._call("POST", "email/withTemplate", json_body=payload)

    def send_batch_with_templates(self, payloads: Iterable[Mapping[str, Any]]) -> Any:
        """``POST /email/batchWithTemplates`` (``{"Messages": [...]}``)."""
        return self._call("POST", "email/batchWithTemplates", json_body={"Messages": list(payloads)})

    # -- the server ------------------------------------------------------------------------

    def get_server(self) -> Any:
        """``GET /server``; the answer's ``ApiTokens`` holds the token: never display it."""
        return self._call("GET", "server")

    def get_delivery_stats(self) -> Any:
        return self._call("GET", "deliverystats")

    def list_webhooks(self, message_stream: str | None = None) -> Any:
        params = {"MessageStream": message_stream} if message_stream else None
        return self._call("GET", "webhooks", params=params)

    def create_webhook(self, webhook: Mapping[str, Any]) -> Any:
        return self._call("POST", "webhooks", json_body=dict(webhook))

    def update_webhook(self, webhook_id: int, webhook: Mapping[str, Any]) -> Any:
        return self._call("PUT", f"webhooks/{int(webhook_id)}", json_body=dict(webhook))

    def delete_webhook(self, webhook_id: int) -> Any:
        return self._call("DELETE", f"webhooks/{int(webhook_id)}")

    def list_message_streams(self) -> Any:
        return self._call("GET", "message-streams")

    def get_bounces(self, **filters: Any) -> Any:
        """``GET /bounces``; filters as Postmark names them (count, offset, type, inactive, emailFilter...)."""
        params = {"count": 50, "offset": 0}
        params.update({name: _query_value(value) for name, value in filters.items() if value is not None})
        return self._call("GET", "bounces", params=params)

    def activate_bounce(self, bounce_id: int) -> Any:
        return self._call("PUT", f"bounces/{int(bounce_id)}/activate")


def _query_value(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def _parse(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"Message": response.text[:500]}
