"""What `mtbrules serve` serves and the limits it enforces, as each worker process gets them."""

from __future__ import annotations

import json

import attrs

from ..registry import builtin_ids
from .limits import DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY, DEFAULT_MAX_RESPONSE, DEFAULT_QUEUE
from .offload import cores


@attrs.frozen
class ServiceConfig:
    """What to serve and the limits; JSON-able so workers can get it from the environment."""

    packs: tuple[str, ...] = ()  # built-in ids or folders; empty = every built-in pack
    max_body: int = DEFAULT_MAX_BODY
    max_batch: int = DEFAULT_MAX_BATCH
    max_response: int = DEFAULT_MAX_RESPONSE
    processes: int = 0  # decision processes; 0 = one per core
    queue: int = DEFAULT_QUEUE  # requests that may wait for a thread
    access_log: bool = True
    admin: bool = True

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServiceConfig:
        data = json.loads(text)
        data["packs"] = tuple(data.get("packs") or ())
        return cls(**data)

    def refs(self) -> tuple[str, ...]:

        return self.packs or tuple(builtin_ids())

    def decision_processes(self) -> int:
        return self.processes or cores()
