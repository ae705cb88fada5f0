"""Thumbs up/down feedback from the chat UI, stored locally as JSON lines.

``FeedbackStore`` appends one JSON object per event to a file (default
``data/feedback.jsonl``). ``FeedbackDataLayer`` is the smallest Chainlit data layer that makes
Chainlit show its feedback buttons: only ``upsert_feedback`` and ``delete_feedback`` do real
work; it keeps no threads, users or elements (so there is no chat history page). It remembers
the last messages it saw in memory so a feedback record carries the question and the answer.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from chainlit.data.base import BaseDataLayer
from chainlit.types import Feedback, PageInfo, PaginatedResponse

DEFAULT_PATH = Path("data") / "feedback.jsonl"


class FeedbackStore:
    """Append-only JSONL file, safe to share between threads of one process."""

    def __init__(self, path: Path | str = DEFAULT_PATH) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **record}
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
        return record

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


class FeedbackDataLayer(BaseDataLayer):
    """Chainlit data layer that persists feedback only."""

    MAX_REMEMBERED = 500

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store
        self._messages: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def remember(self, message_id: str, **details: Any) -> None:
        """Attach details (question, answer, sources) to a message id for later feedback."""
        self._messages[message_id] = {**self._messages.get(message_id, {}), **details}
        self._messages.move_to_end(message_id)
        while len(self._messages) > self.MAX_REMEMBERED:
            self._messages.popitem(last=False)

    def remembered(self, message_id: str) -> dict[str, Any]:
        """The details remembered for a message (empty when none or forgotten)."""
        return dict(self._messages.get(message_id, {}))

    async def upsert_feedback(self, feedback: Feedback) -> str:
        feedback_id = feedback.id or str(uuid.uuid4())
        self.store.add(
            {
                "event": "feedback",
                "feedback_id": feedback_id,
                "message_id": feedback.forId,
                "thread_id": feedback.threadId,
                "rating": "up" if feedback.value == 1 else "down",
                "comment": feedback.comment or None,
                **self._messages.get(feedback.forId, {}),
            }
        )
        return feedback_id

    async def delete_feedback(self, feedback_id: str) -> bool:
        self.store.add({"event": "delete", "feedback_id": feedback_id})
        return True

    # Everything below is required by the interface and deliberately does nothing.
    async def get_user(self, identifier: str):  # noqa: ANN201
        return None

    async def create_user(self, user):  # noqa: ANN001, ANN201
        return None

    async def create_element(self, element) -> None:  # noqa: ANN001
        return None

    async def get_element(self, thread_id: str, element_id: str):  # noqa: ANN201
        return None

    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        return None

    async def create_step(self, step_dict) -> None:  # noqa: ANN001
        return None

    async def update_step(self, step_dict) -> None:  # noqa: ANN001
        return None

    async def delete_step(self, step_id: str) -> None:
        return None

    async def get_thread_author(self, thread_id: str) -> str:
        return ""

    async def delete_thread(self, thread_id: str) -> None:
        return None

    async def list_threads(self, pagination, filters) -> PaginatedResponse:  # noqa: ANN001
        return PaginatedResponse(data=[], pageInfo=PageInfo(hasNextPage=False, startCursor=None, endCursor=None))

    async def get_thread(self, thread_id: str):  # noqa: ANN201
        return None

    async def update_thread(self, thread_id: str, name=None, user_id=None, metadata=None, tags=None) -> None:  # noqa: ANN001
        return None

    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        return None

    async def get_favorite_steps(self, user_id: str) -> list:
        return []
