"""Decode a Perfetto trace with Perfetto's own schema, print it as JSON.

Run by test_perfetto.py with the distribution's python3 (python3-protobuf is
a Debian package): `perfetto_decode.py SCHEMA_DIR TRACE`. SCHEMA_DIR holds
perfetto_trace_pb2.py, compiled by protoc from perfetto_trace.proto.
Interned names are resolved here, in sequence order, exactly as Perfetto's
trace processor does: an iid must be defined by an earlier packet (or the
same one) of its sequence, else decoding fails.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import perfetto_trace_pb2 as pb  # noqa: E402


def main():
    trace = pb.Trace()
    with open(sys.argv[2], "rb") as f:
        trace.ParseFromString(f.read())
    names, cats, anns = {}, {}, {}
    tracks, events, clocks = {}, [], []
    cleared = False
    defaults_clock = None
    for i, p in enumerate(trace.packet):
        if p.sequence_flags & 1:  # SEQ_INCREMENTAL_STATE_CLEARED
            cleared = True
            names, cats, anns = {}, {}, {}
        if p.HasField("trace_packet_defaults"):
            defaults_clock = p.trace_packet_defaults.timestamp_clock_id
        if p.HasField("interned_data"):
            assert cleared, f"packet {i}: interned data before the state was cleared"
            d = p.interned_data
            names.update({e.iid: e.name for e in d.event_names})
            cats.update({e.iid: e.name for e in d.event_categories})
            anns.update({e.iid: e.name for e in d.debug_annotation_names})
        if p.HasField("clock_snapshot"):
            clocks = [{"id": c.clock_id, "ts": c.timestamp} for c in p.clock_snapshot.clocks]
        if p.HasField("track_descriptor"):
            td = p.track_descriptor
            t = {"uuid": td.uuid, "parent": td.parent_uuid if td.HasField("parent_uuid") else None,
                 "name": td.name if td.HasField("name") else None}
            if td.HasField("process"):
                t["process"] = {"pid": td.process.pid, "name": td.process.process_name}
            if td.HasField("thread"):
                t["thread"] = {"pid": td.thread.pid, "tid": td.thread.tid,
                               "name": td.thread.thread_name}
            if td.HasField("counter"):
                t["counter"] = {"unit_name": td.counter.unit_name}
            tracks.setdefault(td.uuid, []).append(t)
        if p.HasField("track_event"):
            te = p.track_event
            if te.HasField("name_iid") or te.category_iids or te.debug_annotations:
                assert p.sequence_flags & 2, f"packet {i}: interned ids without SEQ_NEEDS_INCREMENTAL_STATE"
            e = {"i": i, "ts": p.timestamp, "type": pb.TrackEvent.Type.Name(te.type),
                 "track": te.track_uuid}
            if te.HasField("name_iid"):
                e["name"] = names[te.name_iid]  # KeyError: used before interned
            if te.category_iids:
                e["cats"] = [cats[c] for c in te.category_iids]
            if te.debug_annotations:
                a = {}
                for da in te.debug_annotations:
                    v = da.WhichOneof("value")
                    a[anns[da.name_iid]] = getattr(da, v)
                e["args"] = a
            if te.flow_ids:
                e["flow_ids"] = list(te.flow_ids)
            if te.terminating_flow_ids:
                e["terminating_flow_ids"] = list(te.terminating_flow_ids)
            if te.HasField("double_counter_value"):
                e["value"] = te.double_counter_value
            events.append(e)
    json.dump({"tracks": {str(k): v for k, v in tracks.items()}, "events": events,
               "clocks": clocks, "defaults_clock": defaults_clock}, sys.stdout)


main()
