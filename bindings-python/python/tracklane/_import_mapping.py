"""How ``import_events``' arguments become the core's column mapping (``_native.ImportJob``):
checked up front (a column missing from a file's header fails before anything is sent), with
each field given as a callable computed here, per row, into one more column the core reads
like any other.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Union

from . import _native
from ._import_sources import Row, Source

Field = Union[str, Callable[[Row], Any], None]


class _Default:
    """A mapping left at its default: the conventional column, used only when it exists."""

    def __init__(self, column: str) -> None:
        self.column = column

    def __repr__(self) -> str:
        return repr(self.column)


USER_ID_COLUMN = _Default("user_id")
ANONYMOUS_ID_COLUMN = _Default("anonymous_id")


class RowMapper:
    """Builds the core's mapping (a :class:`_native.ImportJob`) from ``import_events``' arguments and
    computes the fields given as callables: each becomes one more column (a name no file can
    have) that the core mapping reads like any other."""

    def __init__(
        self,
        src: Source,
        *,
        event: Field,
        timestamp: Field,
        user_id: Union[Field, _Default],
        anonymous_id: Union[Field, _Default],
        message_id: Field,
        properties: Union[Sequence[str], Callable[[Row], Any], None],
        exclude: Sequence[str],
        context: Union[Mapping[str, Any], Callable[[Row], Any], None],
        epoch_unit: str,
    ) -> None:
        columns = src.columns
        known = set(columns) if columns is not None else None
        if isinstance(user_id, _Default):
            user_id = user_id.column if known is None or user_id.column in known else None
        if isinstance(anonymous_id, _Default):
            anonymous_id = anonymous_id.column if known is None or anonymous_id.column in known else None
        if event is None:
            raise TypeError("event= must name a column or be a callable returning the event name")
        fields = {
            "event": event,
            "timestamp": timestamp,
            "user_id": user_id,
            "anonymous_id": anonymous_id,
            "message_id": message_id,
        }
        for what, spec in fields.items():
            if spec is not None and not isinstance(spec, str) and not callable(spec):
                raise TypeError(f"{what}= must be a column name, a callable or None, not {type(spec).__name__}")
        if isinstance(properties, str) or not (properties is None or callable(properties) or _is_names(properties)):
            raise TypeError("properties= must be a list of column names, a callable or None (the remaining columns)")
        if isinstance(exclude, str) or not _is_names(exclude):
            raise TypeError("exclude= must be a list of column names")
        if context is not None and not callable(context) and not isinstance(context, Mapping):
            raise TypeError("context= must be a dict or a callable returning one")
        if known is not None:
            wanted = [s for s in fields.values() if isinstance(s, str)]
            if properties is not None and not callable(properties):
                wanted += list(properties)
            missing = [c for c in wanted if c not in known]
            if missing:
                raise ValueError(f"no column named {', '.join(map(repr, missing))}; the columns are {columns}")
        #: ``(column, callable)`` for each field computed per row.
        self.computed: list[tuple[str, Callable[[Row], Any]]] = []
        column = self._column
        self.job = _native.ImportJob(
            column("event", event),  # type: ignore[arg-type]
            timestamp=column("timestamp", timestamp),
            user_id=column("user_id", user_id),
            anonymous_id=column("anonymous_id", anonymous_id),
            key=column("message_id", message_id),
            properties=None if properties is None or callable(properties) else list(properties),
            properties_column=column("properties", properties) if callable(properties) else None,
            exclude=[*exclude, *self._computed_names(message_id)],
            context_column=column("context", context) if callable(context) else None,
            context=None if callable(context) else context,
            epoch_unit=epoch_unit,
            empty_is_missing=src.empty_is_missing,
        )
        self.has_timestamp = timestamp is not None
        self.source_columns = columns
        self.columns = None if columns is None else [*columns, *(name for name, _ in self.computed)]

    @staticmethod
    def _computed_names(key: Any) -> list[str]:
        # A computed key is not data: unlike a key column, it never becomes a property.
        return ["\x00message_id"] if callable(key) else []

    def _column(self, what: str, spec: Any) -> Optional[str]:
        if spec is None or isinstance(spec, str):
            return spec
        name = f"\x00{what}"  # no CSV header or DataFrame label can collide with it
        self.computed.append((name, spec))
        return name

    def prepare(self, row: Any) -> Any:
        """The row with its computed columns appended (the row itself when there are none)."""
        if not self.computed:
            return row
        if self.source_columns is not None:
            view = dict(zip(self.source_columns, row, strict=False))
            return [*row, *(fn(view) for _, fn in self.computed)]
        return {**row, **{name: fn(row) for name, fn in self.computed}}

    def values(self, row: Any) -> dict[str, Any]:
        """The row as a dict, for the report."""
        if self.source_columns is not None:
            return dict(zip(self.source_columns, row, strict=False))
        return dict(row)


def _is_names(value: Any) -> bool:
    try:
        return all(isinstance(c, str) for c in value)
    except TypeError:
        return False
