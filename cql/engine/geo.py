"""Great-circle geometry for GeoPoint queries ($nearSphere, $within/$box, $centerSphere).

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
"""
from __future__ import annotations

from math import asin, cos, radians, sin, sqrt
from typing import Any, Optional, Sequence, Tuple

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
