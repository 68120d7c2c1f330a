"""/metrics over HTTPS, as a scraper with a monitor's certificate reads it: Python's own
http.client over TLS, and prometheus_client's exposition parser. Then the whistle form posted
twice with the same form token (a reload of the answer page does that), as the other party.

Usage: board_metrics.py HOST PORT CA MONITOR_CERT MONITOR_KEY OTHER_CERT OTHER_KEY
Prints one JSON line: the monitor's status and samples, the statuses the other party (not a
monitor) gets for /metrics and the monitor gets for the board's page, and the two posts' answers.
"""
import re
import http.client
import json
import ssl
import sys

from prometheus_client.parser import text_string_to_metric_families

host, port, ca, monitor_cert, monitor_key, other_cert, other_key = sys.argv[1:8]


def get(path, cert, key, method="GET", body=None, headers=None):
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=20)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read().decode("utf-8")
    finally:
        connection.close()


status, content_type, text = get("/metrics", monitor_cert, monitor_key)
samples = {}
if status == 200:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = "".join("|%s=%s" % item for item in sorted(sample.labels.items()))
            samples[sample.name + labels] = sample.value
other_status, _, other_text = get("/metrics", other_cert, other_key)
page_status, _, page_text = get("/", monitor_cert, monitor_key)
_, _, board = get("/", other_cert, other_key)
offered = re.search(r'<datalist id="parties">(.*?)</datalist>', board, re.S)
form = "form-token=board-test-1&to=jinshan-public-security&title=Burst+water+main&deadline=30m"
posted = []
for attempt in range(2):
    post_status, _, page = get("/summon?lang=en", other_cert, other_key, method="POST", body=form,
                               headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://%s:%s" % (host, port)})
    notice = re.search(r'<p id="notice"[^>]*>(.*?)</p>', page)
    posted.append({"status": post_status, "notice": notice.group(1) if notice else page[:500]})
print(json.dumps({"offered": offered.group(1) if offered else None, "posted": posted, "status": status, "contentType": content_type, "samples": samples, "otherStatus": other_status,
                  "otherText": other_text.strip(), "monitorPageStatus": page_status, "monitorPageText": page_text.strip()},
                 ensure_ascii=False), flush=True)
