"""Turns lensmetaconvert's JSON lines into one readable line per frame (the text read and
each region's confidence); other lines (lensfps's FPS reports) pass through."""
import json
import sys

for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.startswith("{"):
        print(line)
        continue
    try:
        frame = json.loads(line)
    except ValueError:
        print(line)
        continue
    texts = []
    for obj in frame.get("objects", []):
        text = obj.get("classifications", {}).get("text", {}).get("text")
        if text:
            texts.append(text)
    ts = frame.get("timestamp", 0) / 1e9
    print(f"{ts:8.2f}s  {len(frame.get('objects', []))} text regions: "
          + " | ".join(repr(t) for t in texts))
