"""Parse a metrics exposition with python3-prometheus-client (a Debian
package, hence run by the distribution's python3) and print its samples as
JSON: `metrics_parse.py text|openmetrics < FILE`. The OpenMetrics parser is
strict (TYPE/UNIT/HELP placement, # EOF, counter naming): a violation is an
exception and a non-zero exit."""
import json
import sys

if sys.argv[1] == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families

out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.append({"family": fam.name, "type": fam.type, "unit": getattr(fam, "unit", ""),
                    "name": s.name, "labels": s.labels, "value": s.value})
json.dump(out, sys.stdout)
