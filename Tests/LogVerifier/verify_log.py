#!/usr/bin/env python3
"""Independent reference verifier for a Muster log (Schemas/log-format.md). Standard library only.

usage: python3 Tests/LogVerifier/verify_log.py DATA_DIR [EXPECTED_OFFSET:HASH]

Reads DATA_DIR/log read-only, checks every segment header, record CRC32C, offset, timestamp
order, segment anchor and SHA-256 chain link, and prints the record count and the head
OFFSET:HASH. With EXPECTED_OFFSET:HASH (a head written down earlier) it also checks that this
record is still in the log with that hash. Exit 1 names the first bad offset. A torn tail
(bytes after the last valid record of the last segment that no valid record follows, whose
record stops short: section 9) is reported, not failed: the broker cuts it off when it starts.
A complete last record that does not check out is damage.
"""
import hashlib, os, re, struct, sys

HEADER, SEG_HEADER, GENESIS = 64, 72, bytes(32)
_T = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    _T.append(c)

def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

class Bad(Exception):
    def __init__(self, segment, pos, offset, why):
        super().__init__(f"BAD at offset {offset}" + (f" (segment {segment}, byte {pos})" if segment else "") + f": {why}")

def parse_payload(p):
    """destination, headers, body of a record payload (raw bytes), or None when it does not parse exactly."""
    try:
        i = 0
        (n,) = struct.unpack_from("<H", p, i); dest = p[i + 2:i + 2 + n]; i += 2 + n
        (count,) = struct.unpack_from("<H", p, i); i += 2
        headers = []
        for _ in range(count):
            (n,) = struct.unpack_from("<H", p, i); name = p[i + 2:i + 2 + n]; i += 2 + n
            (n,) = struct.unpack_from("<I", p, i); value = p[i + 4:i + 4 + n]; i += 4 + n
            headers.append((name, value))
        (n,) = struct.unpack_from("<I", p, i); body = p[i + 4:i + 4 + n]; i += 4 + n
        return (dest, headers, body) if i == len(p) else None
    except struct.error:
        return None

def decode(buf, pos):
    """('ok', length, offset, timestamp, chain) | ('incomplete', why) | ('invalid', why)"""
    if len(buf) - pos < HEADER:
        return ("incomplete", "fewer bytes than a record header")
    magic, version, kind, _flags, length, crc, offset, ts = struct.unpack_from("<IBBHIIQq", buf, pos)
    if magic != 0x4345524D: return ("invalid", "bad magic number")
    if version != 1: return ("invalid", f"record version {version}")
    if not HEADER + 8 <= length <= 1 << 30: return ("invalid", f"impossible record length {length}")
    if len(buf) - pos < length: return ("incomplete", f"record needs {length} bytes, {len(buf) - pos} remain")
    rec = buf[pos:pos + length]
    if crc32c(rec[16:]) != crc: return ("invalid", "CRC mismatch")
    if kind not in (1, 2): return ("invalid", f"unknown record kind {kind}")
    if parse_payload(rec[HEADER:]) is None: return ("invalid", "payload does not match the record length")
    return ("ok", length, offset, ts, rec[32:64])

SECTOR = 512

def payload_length(buf, start):
    """The bytes a payload at `start` takes by its own length fields, or None past the end."""
    try:
        i = start
        (n,) = struct.unpack_from("<H", buf, i); i += 2 + n
        (count,) = struct.unpack_from("<H", buf, i); i += 2
        for _ in range(count):
            (n,) = struct.unpack_from("<H", buf, i); i += 2 + n
            (n,) = struct.unpack_from("<I", buf, i); i += 4 + n
        (n,) = struct.unpack_from("<I", buf, i); i += 4 + n
        return i - start if i <= len(buf) else None
    except struct.error:
        return None

def stops_short(buf, pos, r):
    """Section 9: whether the bad record at pos is a write cut short (else it is damage), and why."""
    if len(buf) - pos >= HEADER + 8:
        (stored,) = struct.unpack_from("<I", buf, pos + 12)
        (field,) = struct.unpack_from("<I", buf, pos + 8)
        implied = payload_length(buf, pos + HEADER)
        for n in {field, HEADER + implied if implied is not None else 0}:
            if HEADER + 8 <= n <= min(1 << 30, len(buf) - pos) and crc32c(buf[pos + 16:pos + n]) == stored:
                return False, f"{r[1]}, yet the record is whole by its CRC (a field outside the CRC was altered): not a write cut short"
    if r[0] == "incomplete":
        return True, r[1]
    magic, version, _kind, _flags, length = struct.unpack_from("<IBBHI", buf, pos)
    if magic != 0x4345524D or version != 1 or not HEADER + 8 <= length <= 1 << 30:
        return True, r[1]
    last_boundary = (pos + length - 1) // SECTOR * SECTOR
    if last_boundary > pos and not any(buf[last_boundary:]):
        return True, f"{r[1]}; only zeros from byte {last_boundary}, a sector boundary inside the record: a write cut short"
    return False, f"{r[1]}; the record is complete and does not stop at a sector boundary with only zeros after it: not a write cut short"

def verify(data_dir, expect=None):
    d = os.path.join(data_dir, "log")
    files = sorted((int(f[:20]), f) for f in os.listdir(d) if re.fullmatch(r"\d{20}\.log", f))
    pruned = None
    if os.path.exists(os.path.join(d, "pruned-head")):
        m = re.fullmatch(r"(\d+):([0-9a-fA-F]{64})", open(os.path.join(d, "pruned-head")).read().strip())
        if not m: raise SystemExit("pruned-head must hold OFFSET:HASH")
        pruned = (int(m[1]), bytes.fromhex(m[2]))
        while len(files) > 1 and files[1][0] <= pruned[0] + 1:
            files.pop(0)  # left behind by a crash while pruning; no longer part of the log
    chain, prev_ts, expected, records, head, notes, seen = GENESIS, None, None, 0, None, [], False
    for i, (base, name) in enumerate(files):
        last = i == len(files) - 1
        buf = open(os.path.join(d, name), "rb").read()
        h = buf[:SEG_HEADER]
        if len(h) < SEG_HEADER or h[:8] != b"MUSTRLOG" or struct.unpack_from("<H", h, 8)[0] != 1 \
                or crc32c(h[:64]) != struct.unpack_from("<I", h, 64)[0]:
            if last and i > 0 and len(buf) <= SEG_HEADER:
                notes.append(f"unfinished segment {name} (crash while rolling; the broker removes it)")
                continue
            raise Bad(name, 0, base, "bad segment header")
        hbase, anchor = struct.unpack_from("<Q", h, 16)[0], h[32:64]
        if hbase != base: raise Bad(name, 16, base, f"header says base offset {hbase}")
        if expected is not None:
            if base != expected: raise Bad(name, 16, base, f"segment starts at {base}, expected {expected}: records missing")
            if anchor != chain: raise Bad(name, 32, base, "segment anchor does not match the previous chain hash")
        elif base == 0:
            if anchor != GENESIS: raise Bad(name, 32, 0, "first anchor is not the genesis hash (32 zero bytes)")
        elif pruned is None or pruned[0] + 1 != base or pruned[1] != anchor:
            raise Bad(name, 32, base, "log does not start at 0 and pruned-head does not anchor it")
        chain, off, pos = anchor, base, SEG_HEADER
        while pos < len(buf):
            r = decode(buf, pos)
            if r[0] != "ok":
                if last and not any(buf[pos:]):
                    break  # space the broker preallocated for the next records (section 9)
                later = r[0] == "invalid" and any(decode(buf, pos + 1 + m.start())[0] == "ok"
                                                  for m in re.finditer(b"MREC", buf[pos + 1:]))
                if last and not later:
                    torn, why = stops_short(buf, pos, r)
                    if not torn: raise Bad(name, pos, off, why)
                    notes.append(f"torn tail: {len(buf) - pos} bytes from byte {pos} of {name} ({why})")
                    break
                raise Bad(name, pos, off, r[1])
            _, length, roff, ts, stored = r
            if roff != off: raise Bad(name, pos, off, f"found offset {roff}")
            if prev_ts is not None and ts < prev_ts: raise Bad(name, pos, off, f"timestamp {ts} < previous {prev_ts}")
            rec = buf[pos:pos + length]
            link = hashlib.sha256(chain + rec[4:8] + rec[16:32] + rec[HEADER:]).digest()
            if link != stored: raise Bad(name, pos, off, "chain hash mismatch")
            if expect and expect[0] == off:
                if expect[1] != link: raise Bad(name, pos, off, "chain hash is not the expected one: rewritten at or before here")
                seen = True
            chain, prev_ts, head, records, off, pos = link, ts, (off, link), records + 1, off + 1, pos + length
        expected = off
    if expect and not seen and expect != pruned:
        raise Bad(None, 0, expect[0], "the expected head is not in the log (missing, or pruned by retention)")
    return records, head, pruned, notes

if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr); sys.exit(2)
    expect = None
    if len(sys.argv) == 3:
        o, x = sys.argv[2].split(":"); expect = (int(o), bytes.fromhex(x))
    try:
        records, head, pruned, notes = verify(sys.argv[1], expect)
    except Bad as e:
        print(e); sys.exit(1)
    print(f"records {records}")
    print(f"head {head[0]}:{head[1].hex()}" if head else "head none (empty log)")
    if pruned: print(f"anchored at pruned head {pruned[0]}:{pruned[1].hex()}")
    for n in notes: print(n)
