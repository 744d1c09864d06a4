"""One small config class per destination.

Each produces the JSON object the core reads (``to_dict()``). A field left as ``None`` is
read by the core from ``TRACKLANE_<TYPE>_<FIELD>`` (``TRACKLANE_WEBANALYZER_API_KEY``), so
keys never need to be in code. ``repr`` masks secrets the way the core's logs do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Union


def mask_secret(secret: str) -> str:
    """The last four characters only, and nothing for short secrets (as the core masks)."""
    if len(secret) < 12:
        return "****"
    return "****" + secret[-4:]


class _Destination:
    type: ClassVar[str]
    _secrets: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None:
                continue
            shown = mask_secret(str(value)) if f.name in self._secrets else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(frozen=True, kw_only=True, repr=False)
class WebAnalyzer(_Destination):
    """Web Analyzer: ``POST {base_url}/websites/{website_id}/track`` with a Bearer key."""

    type: ClassVar[str] = "webanalyzer"
    _secrets: ClassVar[tuple[str, ...]] = ("api_key",)
    api_key: str | None = None
    website_id: int | None = None
    base_url: str | None = None
    name: str | None = None
    allow_insecure_http: bool | None = None


@dataclass(frozen=True, kw_only=True, repr=False)
class Koala(_Destination):
    type: ClassVar[str] = "koala"
    _secrets: ClassVar[tuple[str, ...]] = ("public_key",)
    public_key: str | None = None
    base_url: str | None = None
    name: str | None = None
    allow_insecure_http: bool | None = None


@dataclass(frozen=True, kw_only=True, repr=False)
class Silktide(_Destination):
    type: ClassVar[str] = "silktide"
    _secrets: ClassVar[tuple[str, ...]] = ("property_key",)
    property_key: str | None = None
    endpoint_url: str | None = None
    name: str | None = None
    allow_insecure_http: bool | None = None


@dataclass(frozen=True, kw_only=True, repr=False)
class Tracardi(_Destination):
    type: ClassVar[str] = "tracardi"
    _secrets: ClassVar[tuple[str, ...]] = ("source_id",)
    base_url: str | None = None
    source_id: str | None = None
    profile_less: bool | None = None
    collect: bool | None = None
    options: Mapping[str, Any] | None = None
    name: str | None = None
    allow_insecure_http: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.options is not None:
            out["options"] = dict(self.options)
        return out


@dataclass(frozen=True, kw_only=True, repr=False)
class Dreamdata(_Destination):
    type: ClassVar[str] = "dreamdata"
    _secrets: ClassVar[tuple[str, ...]] = ("api_key",)
    api_key: str | None = None
    base_url: str | None = None
    gzip: bool | None = None
    name: str | None = None
    allow_insecure_http: bool | None = None


@dataclass(frozen=True, kw_only=True, repr=False)
class Segment(_Destination):
    """Any Segment-spec ``/v1/batch`` endpoint (Segment, RudderStack, Jitsu...)."""

    type: ClassVar[str] = "segment"
    _secrets: ClassVar[tuple[str, ...]] = ("write_key",)
    write_key: str | None = None
    base_url: str | None = None
    gzip: bool | None = None
    name: str | None = None
    allow_insecure_http: bool | None = None


@dataclass(frozen=True, kw_only=True, repr=False)
class File(_Destination):
    """Appends each event as one JSON line (with the bodies the remote destinations sent)."""

    type: ClassVar[str] = "file"
    path: str | Path | None = None
    name: str | None = None


@dataclass(frozen=True, kw_only=True, repr=False)
class Stdout(_Destination):
    type: ClassVar[str] = "stdout"
    name: str | None = None


DestinationLike = Union[_Destination, Mapping[str, Any]]


def destination_dict(d: DestinationLike) -> Any:
    """A config class or a ``{"type": ...}`` mapping → the core's JSON. Anything else JSON
    can hold is passed on for the core to refuse with its own code."""
    if isinstance(d, _Destination):
        return d.to_dict()
    if isinstance(d, Mapping):
        return dict(d)
    if isinstance(d, (str, int, float, list)) or d is None:
        return d
    raise TypeError(
        f"destinations: {type(d).__name__} is not a destination "
        "(use tracklane.WebAnalyzer(...), a dict with a 'type', or a type name)"
    )


__all__ = [
    "WebAnalyzer",
    "Koala",
    "Silktide",
    "Tracardi",
    "Dreamdata",
    "Segment",
    "File",
    "Stdout",
    "mask_secret",
]
