#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the format in docs/format.md.

Seeds are valid inputs (and a few near misses) so that libFuzzer starts from
the interesting part of the input space. Run from the repo root:
    python3 fuzz/make_seeds.py
"""
import base64, os, struct, zlib

MAGIC = bytes([0xD3, ord('S'), ord('P'), ord('L')])

def frame(seq, ts, codec, payload):
    head = MAGIC + struct.pack('<IQqBBH', len(payload), seq, ts, codec, 0, 0)
    crc = zlib.crc32(payload, zlib.crc32(head)) & 0xFFFFFFFF
    return head + struct.pack('<I', crc) + payload

def cursor(log_fp, direction, seq, hint):
    body = struct.pack('<BBQQQ', 1, direction, log_fp, seq, hint)
    raw = body + struct.pack('<I', zlib.crc32(body) & 0xFFFFFFFF)
    return 'v1.' + base64.urlsafe_b64encode(raw).decode().rstrip('=')

def write(target, name, data):
    d = os.path.join('fuzz', 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())

one = frame(0, 1_700_000_000_000, 1, b'{"type":"message","n":1}')
two = one + frame(1, 1_700_000_000_001, 2, b'\x81\xa1n\x02')
write('frame_decode', 'one_json_frame', one)
write('frame_decode', 'two_frames', two)
write('frame_decode', 'empty_payload', frame(7, -1, 0, b''))
write('frame_decode', 'torn_tail', two[:-3])
write('frame_decode', 'zero_tail', one + bytes(40))
flipped = bytearray(one); flipped[40] ^= 0x10
write('frame_decode', 'bit_flip', bytes(flipped))

def segment(base, frames, slot_len=None):
    head = bytes([0xD3, ord('S'), ord('S'), ord('G')]) + struct.pack('<IQqI', 1, base, 1_700_000_000_000, 0)
    head += struct.pack('<I', zlib.crc32(head) & 0xFFFFFFFF)
    out = bytearray(1536)
    out[:32] = head
    body = b''.join(frames)
    if slot_len is not None:
        slot = struct.pack('<QQQI', 1, slot_len, base + len(frames), 0)
        slot += struct.pack('<I', zlib.crc32(slot) & 0xFFFFFFFF)
        out[512:544] = slot
    return bytes(out) + body

frames = [frame(i, i, 0, bytes([i]) * (i * 7)) for i in range(6)]
write('segment_recover', 'six_frames', segment(0, frames))
write('segment_recover', 'six_frames_durable', segment(0, frames, 1536 + sum(map(len, frames))))
write('segment_recover', 'torn_tail', segment(0, frames)[:-5])
write('segment_recover', 'header_only', segment(0, [])[:32])
write('segment_recover', 'zero_fill', segment(0, frames[:2]) + bytes(200))

# ops: little-endian u16 choices; a workload of appends and syncs, then a crash.
write('ops', 'appends_syncs_crash', b''.join(struct.pack('<H', c) for c in
      [7, 40, 0, 2, 0, 3, 7, 0, 1, 9, 0, 5, 8, 0, 4, 0, 2, 1234, 5, 0]))
write('ops', 'empty', b'')

write('cursor_decode', 'forward', cursor(0x1234_5678_9abc_def0, 0, 5, 0))
write('cursor_decode', 'backward_hint', cursor(1, 1, 2**64 - 1, 4096))
write('cursor_decode', 'other_version', 'v2.' + cursor(1, 0, 0, 0)[3:])
write('cursor_decode', 'truncated', cursor(1, 0, 0, 0)[:-4])

# jsonl_line: the Codex example files with damage in them, and one line of
# each kind (CRLF, BOM, NUL, a torn end).
import shutil
for name in ['torn-tail.jsonl', 'torn-tail-invalid-utf8.jsonl', 'unknown-future-types.jsonl',
             'blank-only.jsonl', 'session_index.jsonl']:
    os.makedirs(os.path.join('fuzz', 'corpus', 'jsonl_line'), exist_ok=True)
    shutil.copy(os.path.join('tests', 'fixtures', 'codex', 'examples', name),
                os.path.join('fuzz', 'corpus', 'jsonl_line', name))
write('jsonl_line', 'mixed', b'{"a":1}\r\n\xef\xbb\xbf{}\n\x00\x00\x00\n[1,2')

# rollout_line: one line of each generation and kind of damage.
for name, line in [
    ('envelope', b'{"timestamp":"2026-08-13T09:15:02.417Z","ordinal":3,"type":"event_msg","payload":{"type":"token_count","info":{"used_percent":12.5}}}'),
    ('session_meta', b'{"timestamp":"t","type":"session_meta","payload":{"id":"a","history_mode":"quantum_v9"}}'),
    ('legacy_header', b'{"id":"5973b6c0","timestamp":"2025-05-07T17:24:21.123Z","instructions":null}'),
    ('legacy_state', b'{"record_type":"state"}'),
    ('bad_ordinal', b'{"timestamp":"t","ordinal":-1,"type":"x","payload":{}}'),
]:
    write('rollout_line', name, line)
