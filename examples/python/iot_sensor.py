"""The Web Analyzer docs' IoT example (``track_sensor_reading``), on tracklane.

A device with no browser reports readings. The original posted each reading with ``requests``
and converted every number with ``str()`` because Web Analyzer payload values are strings;
tracklane's Web Analyzer destination does that conversion (and checks the 10-key / 255-char
payload rules) itself, and sends readings taken close together in one batch request.

    TRACKLANE_WEBANALYZER_API_KEY=... TRACKLANE_WEBANALYZER_WEBSITE_ID=1 \\
        python examples/python/iot_sensor.py SENSOR_ID TEMPERATURE HUMIDITY [SENSOR_ID T H ...]
"""

from __future__ import annotations

import sys

import tracklane


def track_sensor_reading(sensor_id: str, temperature: float, humidity: float) -> tracklane.TrackResult:
    return tracklane.track(
        "sensor_reading",
        {"sensor_id": sensor_id, "temperature": temperature, "humidity": humidity},
    )


def main(argv: list[str]) -> int:
    if not argv or len(argv) % 3:
        print(__doc__, file=sys.stderr)
        return 2
    # Only Web Analyzer, whatever TRACKLANE_DESTINATIONS says; its fields come from
    # TRACKLANE_WEBANALYZER_* variables.
    tracklane.init([tracklane.WebAnalyzer()])
    for i in range(0, len(argv), 3):
        sensor_id, temperature, humidity = argv[i], float(argv[i + 1]), float(argv[i + 2])
        result = track_sensor_reading(sensor_id, temperature, humidity)
        print(f"{sensor_id}: {result.status}")
    report = tracklane.close()
    print(f"delivered={report['delivered'] if report else 0}")
    return 0 if report and report["delivered"] == len(argv) // 3 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
