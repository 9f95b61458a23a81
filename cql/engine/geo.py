"""Great-circle geometry and the geo operators of a where ($nearSphere,
$within/$geoWithin with $box, $centerSphere, $polygon).

Distances are on a sphere (haversine), as MongoDB's 2dsphere ``$nearSphere``
does. Units follow Parse/LeanCloud: radians; kilometres with an Earth radius of
6371.0 km; miles with 3958.8 mi.

Public API:
- ``EARTH_RADIUS_KM``, ``EARTH_RADIUS_MILES``
- ``DISTANCE_KEYS``: ``$maxDistanceInKilometers`` and the like -> (bound, unit)
- ``distance_radians(lat1, lng1, lat2, lng2) -> float`` (degrees in, radians out)
- ``distance_km(...)``, ``distance_miles(...)``
- ``to_radians(distance, unit) -> float`` with unit "radians" | "kilometers" | "miles"
- ``point_of(value) -> (lat, lng) | None``: a stored/queried GeoPoint's coordinates
- ``in_box(lat, lng, sw, ne) -> bool``: (lat, lng) pairs; wraps at the antimeridian
- ``in_polygon(lat, lng, vertices) -> bool``
- ``query_point(value, what) -> (lat, lng)``: a GeoPoint given in a where (code 302 if invalid)
- ``near_predicate(point, bounds)``, ``within_predicate(spec, what)``: the matcher's
  value predicates for ``$nearSphere`` and ``$within``/``$geoWithin``
- ``NearSpec``, ``near_spec(where)``: the ``$nearSphere`` of a where, for sorting nearest first
"""
from __future__ import annotations

from math import asin, cos, inf, radians, sin, sqrt
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from ..errors import InvalidGeoPoint, describe
from .values import field_getter, query_error

EARTH_RADIUS_KM = 6371.0
EARTH_RADIUS_MILES = 3958.8

_UNITS = {"radians": 1.0, "kilometers": EARTH_RADIUS_KM, "miles": EARTH_RADIUS_MILES}

#: The distance bounds that stand beside ``$nearSphere``: key -> ("max" | "min", unit).
DISTANCE_KEYS = {
    "$maxDistance": ("max", "radians"), "$maxDistanceInRadians": ("max", "radians"),
    "$maxDistanceInKilometers": ("max", "kilometers"), "$maxDistanceInMiles": ("max", "miles"),
    "$minDistance": ("min", "radians"), "$minDistanceInRadians": ("min", "radians"),
    "$minDistanceInKilometers": ("min", "kilometers"), "$minDistanceInMiles": ("min", "miles"),
}

LatLng = Tuple[float, float]
ValuePredicate = Callable[[Any], bool]


def distance_radians(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Central angle between two points given in degrees (haversine; stable for small distances)."""
    p1, p2 = radians(lat1), radians(lat2)
    dlat = p2 - p1
    dlng = radians(lng2 - lng1)
    h = sin(dlat / 2.0) ** 2 + cos(p1) * cos(p2) * sin(dlng / 2.0) ** 2
    if h > 1.0:  # rounding near antipodes
        h = 1.0
    return 2.0 * asin(sqrt(h))


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    return distance_radians(lat1, lng1, lat2, lng2) * EARTH_RADIUS_KM


def distance_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    return distance_radians(lat1, lng1, lat2, lng2) * EARTH_RADIUS_MILES


def to_radians(distance: float, unit: str) -> float:
    """A distance in ``unit`` ("radians", "kilometers", "miles") as an angle in radians."""
    return float(distance) / _UNITS[unit]


def point_of(value: Any) -> Optional[LatLng]:
    """(latitude, longitude) of a GeoPoint JSON dict, or None when it is not one."""
    if value.__class__ is dict and value.get("__type") == "GeoPoint":
        lat, lng = value.get("latitude"), value.get("longitude")
        if lat.__class__ in (int, float) and lng.__class__ in (int, float):
            return float(lat), float(lng)
    return None


def in_box(lat: float, lng: float, sw: LatLng, ne: LatLng) -> bool:
    """Is (lat, lng) inside the box from south-west ``sw`` to north-east ``ne``?

    A box whose south-west longitude is greater than its north-east longitude
    crosses the antimeridian (e.g. 170 .. -170 covers 170..180 and -180..-170).
    Longitudes -180 and 180 are the same meridian. At a pole every longitude is
    the same point, so a pole inside the latitude range is inside the box.
    """
    if not sw[0] <= lat <= ne[0]:
        return False
    if lat == 90.0 or lat == -90.0:
        return True
    west, east = sw[1], ne[1]
    if lng == -180.0 or lng == 180.0:
        # The antimeridian itself: inside when the box touches it on either side.
        return (west <= -180.0 or east >= 180.0 or west > east
                or west == 180.0 or east == -180.0)
    if west <= east:
        return west <= lng <= east
    return lng >= west or lng <= east


def in_polygon(lat: float, lng: float, vertices: Sequence[LatLng]) -> bool:
    """Even-odd ray casting on (lat, lng) as a plane; points on an edge count as inside."""
    n = len(vertices)
    inside = False
    j = n - 1
    for i in range(n):
        yi, xi = vertices[i]
        yj, xj = vertices[j]
        # On the segment?
        if (min(xi, xj) <= lng <= max(xi, xj) and min(yi, yj) <= lat <= max(yi, yj)
                and abs((xj - xi) * (lat - yi) - (yj - yi) * (lng - xi)) < 1e-12):
            return True
        if (yi > lat) != (yj > lat):
            x_cross = xi + (lat - yi) * (xj - xi) / (yj - yi)
            if lng < x_cross:
                inside = not inside
        j = i
    return inside


# ---- the geo operators of a where ------------------------------------------------------

def query_point(value: Any, what: str) -> Tuple[float, float]:
    """(lat, lng) of a query GeoPoint: a GeoPoint dict, {latitude, longitude}, or [lng, lat]."""
    lat = lng = None
    if isinstance(value, dict):
        lat, lng = value.get("latitude"), value.get("longitude")
    elif isinstance(value, list) and len(value) == 2:
        lng, lat = value
    if (lat.__class__ not in (int, float)) or (lng.__class__ not in (int, float)):
        raise InvalidGeoPoint(f"{what} needs a GeoPoint, got {describe(value)}")
    if not -90.0 <= lat <= 90.0:
        raise InvalidGeoPoint(f"{what}: latitude {lat} is out of range: it must be between -90 and 90")
    if not -180.0 <= lng <= 180.0:
        raise InvalidGeoPoint(f"{what}: longitude {lng} is out of range: it must be between -180 and 180")
    return float(lat), float(lng)


def _point_vp(test: Callable[[float, float], bool]) -> ValuePredicate:
    """A GeoPoint (or an array holding one) whose coordinates pass ``test``."""

    def geo_vp(v: Any) -> bool:
        t = v.__class__
        if t is dict:
            p = point_of(v)
            return p is not None and test(p[0], p[1])
        if t is list:
            for e in v:
                if e.__class__ is dict:
                    p = point_of(e)
                    if p is not None and test(p[0], p[1]):
                        return True
        return False
    return geo_vp


def near_predicate(point: Any, bounds: Dict[str, Any]) -> ValuePredicate:
    """``$nearSphere`` with its distance ``bounds`` ($maxDistanceInKilometers, ...)."""
    lat0, lng0 = query_point(point, "$nearSphere")
    lo, hi = 0.0, inf
    for key, amount in bounds.items():
        kind, unit = DISTANCE_KEYS[key]
        if amount.__class__ not in (int, float):
            raise query_error(f"{key} needs a number, got {describe(amount)}")
        try:
            r = to_radians(amount, unit)
        except OverflowError:
            raise query_error(f"{key} is too large: {describe(amount, 40)}") from None
        if kind == "max":
            hi = min(hi, r)
        else:
            lo = max(lo, r)
    dist = distance_radians
    if lo <= 0.0 and hi == inf:
        return _point_vp(lambda lat, lng: True)
    eps = 1e-12  # a point exactly at the bound stays inside despite rounding

    def within(lat: float, lng: float) -> bool:
        d = dist(lat0, lng0, lat, lng)
        return lo - eps <= d <= hi + eps
    return _point_vp(within)


def within_predicate(spec: Any, what: str) -> ValuePredicate:
    """``$within``/``$geoWithin`` with a ``$box``, ``$centerSphere`` or ``$polygon``."""
    if not isinstance(spec, dict) or len(spec) != 1:
        raise query_error(f"{what} needs one of {{\"$box\": [sw, ne]}}, {{\"$centerSphere\": [point, radians]}},"
                          f" {{\"$polygon\": [points]}}, got {describe(spec)}")
    (kind, arg), = spec.items()
    if kind == "$box":
        if not isinstance(arg, list) or len(arg) != 2:
            raise query_error(f"$box needs [southwest, northeast] GeoPoints, got {describe(arg)}")
        sw = query_point(arg[0], "$box")
        ne = query_point(arg[1], "$box")
        if sw[0] > ne[0]:
            raise query_error(f"$box: the south-west corner (latitude {sw[0]}) is north of the"
                              f" north-east corner (latitude {ne[0]})")
        return _point_vp(lambda lat, lng: in_box(lat, lng, sw, ne))
    if kind == "$centerSphere":
        if not isinstance(arg, list) or len(arg) != 2 or arg[1].__class__ not in (int, float) or arg[1] < 0:
            raise query_error(f"$centerSphere needs [GeoPoint, radius in radians], got {describe(arg)}")
        lat0, lng0 = query_point(arg[0], "$centerSphere")
        radius = float(arg[1]) + 1e-12
        dist = distance_radians
        return _point_vp(lambda lat, lng: dist(lat0, lng0, lat, lng) <= radius)
    if kind == "$polygon":
        if not isinstance(arg, list) or len(arg) < 3:
            raise query_error(f"$polygon needs at least 3 GeoPoints, got {describe(arg)}")
        vertices = [query_point(p, "$polygon") for p in arg]
        return _point_vp(lambda lat, lng: in_polygon(lat, lng, vertices))
    raise query_error(f"unknown {what} shape {describe(kind)} (supported: $box, $centerSphere, $polygon)")


# ---- $nearSphere ordering ----------------------------------------------------------------

class NearSpec:
    """Where a query's $nearSphere points: the executor sorts by ``distance`` ascending."""
    __slots__ = ("field", "latitude", "longitude", "_get")

    def __init__(self, field: str, latitude: float, longitude: float):
        self.field = field
        self.latitude = latitude
        self.longitude = longitude
        self._get = field_getter(field)

    def _one(self, v: Any) -> float:
        p = point_of(v)
        return inf if p is None else distance_radians(self.latitude, self.longitude, p[0], p[1])

    def distance(self, obj: dict) -> float:
        """Radians from the query point to the object's GeoPoint (nearest of an array); inf if none."""
        v = self._get(obj)
        if v.__class__ is dict:
            return self._one(v)
        if isinstance(v, list):
            return min((self._one(e) for e in v), default=inf)
        return inf

    def __repr__(self) -> str:
        return f"NearSpec({self.field!r}, latitude={self.latitude}, longitude={self.longitude})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, NearSpec) and (self.field, self.latitude, self.longitude)
                == (other.field, other.latitude, other.longitude))

    __hash__ = None  # type: ignore[assignment]


def near_spec(where: Optional[dict]) -> Optional[NearSpec]:
    """The $nearSphere of ``where`` (top level, or in a top-level $and), or None."""
    if not isinstance(where, dict):
        return None
    for key, cond in where.items():
        if key == "$and" and isinstance(cond, list):
            for sub in cond:
                found = near_spec(sub)
                if found is not None:
                    return found
        elif isinstance(key, str) and not key.startswith("$") and isinstance(cond, dict) \
                and "$nearSphere" in cond:
            lat, lng = query_point(cond["$nearSphere"], "$nearSphere")
            return NearSpec(key, lat, lng)
