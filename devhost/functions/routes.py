"""HTTP trigger route templates (ASP.NET Core syntax, as the Functions host uses them).

Supported: literal segments, `{name}`, optional `{name?}`, catch-all `{*name}`, and the common
constraints `{id:int}`, `{id:long}`, `{id:bool}`, `{id:guid}`, `{id:alpha}`. Matching ignores case.
Literal routes win over parameterised ones, as in ASP.NET's route ordering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAMETER = re.compile(r"^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$")
_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "bool": r"(?i:true|false)",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "alpha": r"[A-Za-z]+",
}


@dataclass(frozen=True)
class RouteTemplate:
    template: str
    pattern: re.Pattern[str]
    literal_segments: int

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        regex = ""
        literals = 0
        for segment in [s for s in template.strip("/").split("/") if s]:
            match = _PARAMETER.match(segment)
            if match is None:
                regex += "/" + re.escape(segment)
                literals += 1
                continue
            catch_all, name, constraint, optional = match.groups()
            body = ".*" if catch_all else _CONSTRAINTS.get(constraint or "", "[^/]+")
            if catch_all or optional:
                regex += f"(?:/(?P<{name}>{body}))?"
            else:
                regex += f"/(?P<{name}>{body})"
        return cls(template, re.compile(f"^{regex}/?$", re.IGNORECASE), literals)

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters if `path` (starting with "/") matches; missing optionals are absent."""
        found = self.pattern.match(path)
        if found is None:
            return None
        return {name: value for name, value in found.groupdict().items() if value is not None}
