"""Prints one JSON line: every sample of a broker's /metrics (plain HTTP on loopback), read by
prometheus_client's exposition parser, keyed NAME|LABEL=VALUE|... (labels sorted).

Usage: metrics_read.py METRICS_PORT
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def samples(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode("utf-8")
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name + "".join(f"|{name}={value}" for name, value in sorted(sample.labels.items()))] = sample.value
    return found


if __name__ == "__main__":
    print(json.dumps(samples(sys.argv[1])), flush=True)
