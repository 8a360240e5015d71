"""The caller's half of queued sending: map and check every message here, then enqueue one task per batch.

An invalid message raises in the caller's process, before anything is queued, as with
:class:`~postmark_admin.backends.PostmarkBackend`. What is queued is the prepared Postmark JSON (a
few hundred bytes per plain message), who each object goes to, and the non-secret options: the
worker reads the server token from its own configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from ..config.effective import EffectiveConfig
from ..exceptions import PostmarkConfigurationError, PostmarkQueueError
from .batching import Chunk, plan_chunks
from .pipeline import prepare

logger = logging.getLogger("postmark_admin.sending.queued")


def task_arguments(chunk: Chunk) -> dict[str, Any]:
    """The task's arguments for one batch: JSON only (no EmailMessage, no token).

    The body is the one the in-process backend would post, as a string.
    """
    return {
        "body": chunk.body().decode("utf-8"),
        "recipients": [[list(entry.item.to), list(entry.item.cc_bcc)] for entry in chunk.entries],
        "refs": [entry.message_index for entry in chunk.entries],
        "templated": chunk.templated,
    }


def enqueue_messages(
    messages: Sequence[EmailMessage],
    config: EffectiveConfig,
    *,
    task_backend: str,
    queue_name: str,
    mailer: str | None,
    options: Mapping[str, Any],
    fail_silently: bool = False,
    connection: Any = None,
) -> int:
    """Map ``messages`` and enqueue their batches; returns how many messages were queued.

    Each queued message gets ``postmark_task_ids``, the ids of the tasks that carry it (one, or
    several for a message with merge data split across batches), and ``postmark_task_results``, the
    task backend's ``TaskResult`` objects for them (``refresh()`` them where the backend can). A result's ``ref`` is the message's
    position in ``messages``.
    """
    from .queued import send_prepared

    messages = list(messages)
    prepared = prepare(messages, config, fail_silently=fail_silently, connection=connection)
    for index, message in prepared:
        if message.server_token is not None:
            error = PostmarkConfigurationError(
                _(
                    "A message with its own server token (esp_extra) cannot be queued: secrets never go "
                    "into the task queue. Send it with PostmarkBackend, or give the worker that token."
                )
            )
            error.email_message = messages[index]
            raise error
    chunks = plan_chunks(prepared)
    try:
        task = send_prepared.using(backend=task_backend, queue_name=queue_name)
    except Exception as error:  # an unknown alias, a queue the backend does not serve
        problem = PostmarkConfigurationError(
            _("Queued sending cannot use the task backend %(backend)r with the queue %(queue)r: %(error)s")
            % {"backend": task_backend, "queue": queue_name, "error": error}
        )
        if fail_silently:
            logger.error("%s", problem)
            return 0
        raise problem from error
    task_ids: dict[int, list[str]] = {}
    results: dict[str, Any] = {}
    for chunk in chunks:
        try:
            result = task.enqueue(**task_arguments(chunk), mailer=mailer, options=dict(options))
        except Exception as error:
            queued = len(task_ids)
            failure = PostmarkQueueError(
                _(
                    "The task backend %(backend)r could not queue messages for Postmark (%(error)s); "
                    "%(queued)d of %(count)d messages were queued before it refused."
                )
                % {
                    "backend": task_backend,
                    "error": type(error).__name__,
                    "queued": queued,
                    "count": len(prepared),
                },
                queued=queued,
                task_ids=tuple(sorted({task_id for ids in task_ids.values() for task_id in ids})),
            )
            if fail_silently:
                logger.error("%s", failure)
                break
            raise failure from error
        results[str(result.id)] = result
        for entry in chunk.entries:
            ids = task_ids.setdefault(entry.message_index, [])
            if str(result.id) not in ids:
                ids.append(str(result.id))
    for index, ids in task_ids.items():
        setattr(messages[index], "postmark_task_ids", tuple(ids))  # noqa: B010
        setattr(messages[index], "postmark_task_results", tuple(results[task_id] for task_id in ids))  # noqa: B010
    return len(task_ids)
