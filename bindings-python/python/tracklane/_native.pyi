"""Type stubs for the native module (checked by ``python -m mypy.stubtest tracklane._native``)."""

from typing import Any, Callable, Final, final

from typing_extensions import disjoint_base

__all__ = [
    "__version__",
    "MAX_DEPTH",
    "Client",
    "TrackResult",
    "ImportJob",
    "_after_fork_in_child",
    "_python_exiting",
    "_sync_log_level",
]

__version__: Final[str]
MAX_DEPTH: Final[int]

@disjoint_base
class Client:
    def __new__(
        cls,
        options: dict[str, Any],
        on_error: Callable[[list[dict[str, Any]]], Any] | None = None,
        on_delivery: Callable[[dict[str, Any]], Any] | None = None,
    ) -> Client: ...
    def track(
        self,
        event: str,
        properties: dict[str, Any] | None = None,
        *,
        user_id: str | int | None = None,
        anonymous_id: str | None = None,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
        message_id: str | None = None,
        session_id: str | None = None,
    ) -> TrackResult: ...
    def identify(
        self,
        user_id: str | int | None = None,
        traits: dict[str, Any] | None = None,
        *,
        anonymous_id: str | None = None,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
        message_id: str | None = None,
        session_id: str | None = None,
    ) -> TrackResult: ...
    def alias(
        self,
        previous_id: str,
        user_id: str | int,
        *,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
        message_id: str | None = None,
    ) -> TrackResult: ...
    def page(
        self,
        name: str | None = None,
        properties: dict[str, Any] | None = None,
        *,
        user_id: str | int | None = None,
        anonymous_id: str | None = None,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
        message_id: str | None = None,
        session_id: str | None = None,
    ) -> TrackResult: ...
    def group(
        self,
        group_id: str | int,
        traits: dict[str, Any] | None = None,
        *,
        user_id: str | int | None = None,
        anonymous_id: str | None = None,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
        message_id: str | None = None,
    ) -> TrackResult: ...
    def flush(self, timeout: float = 10.0) -> dict[str, Any]: ...
    def close(self, timeout: float = 10.0) -> dict[str, Any]: ...
    def _import_rows(
        self,
        rows: list[Any],
        job: ImportJob,
        *,
        first_row: int = 0,
        numbers: list[int] | None = None,
        columns: list[str] | None = None,
        block_timeout: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> tuple[int, list[tuple[int, str, str, list[tuple[str, str, str, str]]]], bool]: ...
    def stats(self) -> dict[str, Any]: ...
    @property
    def closed(self) -> bool: ...
    @property
    def destination_names(self) -> list[str]: ...
    @property
    def strict(self) -> bool: ...
    @property
    def destinations_without_timestamp(self) -> list[str]: ...

@final
class TrackResult:
    @property
    def status(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def destinations(self) -> list[str]: ...
    @property
    def errors(self) -> list[Any]: ...
    def __bool__(self) -> bool: ...

@final
class ImportJob:
    def __new__(
        cls,
        event: str,
        *,
        timestamp: str | None = None,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        key: str | None = None,
        properties: list[str] | None = None,
        properties_column: str | None = None,
        exclude: list[str] | None = None,
        context_column: str | None = None,
        context: dict[str, Any] | None = None,
        epoch_unit: str = "auto",
        empty_is_missing: bool = False,
    ) -> ImportJob: ...
    def row_of(self, message_id: str) -> int | None: ...

def _after_fork_in_child() -> None: ...
def _python_exiting() -> None: ...
def _sync_log_level() -> None: ...
