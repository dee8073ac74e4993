# Generates ~20k HubEvents (2,000 fids: casts, a like superseded by its remove, a recast,
# follows, a bio, a revoke every 50 fids) as "event\t<hex>" lines for timing.sh.
# Hashes are BLAKE2b stand-ins (the apply engine does not verify them).
import hashlib, sys
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f; n >>= 7
        if n: out.append(b | 0x80)
        else: out.append(b); return bytes(out)
def f_varint(num, v): return varint(num << 3) + varint(v)
def f_bytes(num, b): return varint((num << 3) | 2) + varint(len(b)) + b
def message(mtype, fid, ts, body_field, body):
    data = f_varint(1, mtype) + f_varint(2, fid) + f_varint(3, ts) + f_varint(4, 1) + f_bytes(body_field, body)
    h = hashlib.blake2b(data, digest_size=20).digest()
    return f_bytes(1, data) + f_bytes(2, h) + f_varint(3, 1) + f_bytes(4, b'\x51' * 64) + f_varint(5, 1) + f_bytes(6, b'\x5a' * 32)
eid = [1 << 14]
def event(etype, body_field, body):
    eid[0] += 1
    return f_varint(1, etype) + f_varint(2, eid[0]) + f_bytes(body_field, body) + f_varint(14, 1) + f_varint(15, 150000000)
out = sys.stdout
n = 0
for fid in range(1, 2001):
    ts = 100000000 + fid
    casts = []
    for i in range(4):
        m = message(1, fid, ts + i, 5, f_bytes(4, ("cast %d of %d" % (i, fid)).encode()))
        casts.append(m)
        out.write("event\t" + event(1, 3, f_bytes(1, m)).hex() + "\n")
    target = f_bytes(2, f_varint(1, fid % 7 + 1) + f_bytes(2, hashlib.sha1(b"c%d" % fid).digest()))
    r1 = message(3, fid, ts + 10, 7, f_varint(1, 1) + target)
    r1_rm = message(4, fid, ts + 11, 7, f_varint(1, 1) + target)
    r2 = message(3, fid, ts + 12, 7, f_varint(1, 2) + target)
    out.write("event\t" + event(1, 3, f_bytes(1, r1)).hex() + "\n")
    out.write("event\t" + event(1, 3, f_bytes(1, r1_rm) + f_bytes(2, r1)).hex() + "\n")
    out.write("event\t" + event(1, 3, f_bytes(1, r2)).hex() + "\n")
    for t in (1, 2):
        l = message(5, fid, ts + 20 + t, 14, f_bytes(1, b"follow") + f_varint(3, (fid + t) % 2000 + 1))
        out.write("event\t" + event(1, 3, f_bytes(1, l)).hex() + "\n")
    u = message(11, fid, ts + 30, 12, f_varint(1, 3) + f_bytes(2, b"bio of %d" % fid))
    out.write("event\t" + event(1, 3, f_bytes(1, u)).hex() + "\n")
    if fid % 50 == 0:
        out.write("event\t" + event(3, 5, f_bytes(1, casts[0])).hex() + "\n")
